import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { CacheStore } from "../capabilities/cache/CacheStore.ts"
import * as Cache from "../capabilities/cache/CacheStore.ts"
import * as Database from "../capabilities/database/Database.ts"
import * as Transactions from "../capabilities/database/Transactions.ts"
import * as Storage from "../capabilities/storage/Storage.ts"
import * as VectorIndex from "../capabilities/vectors/VectorIndex.ts"
import * as LanguageModel from "../capabilities/ai/LanguageModel.ts"
import * as Mailer from "../capabilities/mail/Mailer.ts"
import * as JobQueue from "../capabilities/queue/JobQueue.ts"
import * as Settings from "../config/Settings.ts"
import * as Logging from "../observability/Logging.ts"
import * as Tracing from "../observability/Tracing.ts"

/** One start-up line per capability, saying which backend is active. */
const announce = Layer.effectDiscard(Effect.gen(function*() {
  const database = yield* Database.DatabaseInfo
  const cache = yield* CacheStore
  yield* Effect.logInfo(`database: ${database.description}`)
  yield* Effect.logInfo(`cache: ${cache.description}`)
  yield* Effect.logInfo(`storage: ${(yield* Storage.Storage).description}`)
  yield* Effect.logInfo(`queue: ${(yield* JobQueue.JobQueue).description}`)
  yield* Effect.logInfo(`ai: ${(yield* LanguageModel.LanguageModel).description}`)
  yield* Effect.logInfo(`vectors: ${(yield* VectorIndex.VectorIndex).description}`)
  yield* Effect.logInfo(`mail: ${(yield* Mailer.Mailer).description}`)
  yield* Effect.logInfo("clock: system (Effect Clock)")
}))

/**
 * Every capability chosen from the given configuration, migrations applied when
 * MIGRATE_ON_START says so. The server, the worker and the tests all start from this.
 */
export const layerFromConfig = Layer.mergeAll(announce, Database.layerMigrateOnStart).pipe(
  Layer.provideMerge(Layer.mergeAll(JobQueue.layer, Mailer.layer, LanguageModel.layer, VectorIndex.layer)),
  Layer.provideMerge(Transactions.layerSql),
  Layer.provideMerge(Layer.mergeAll(Database.layer, Cache.layer, Storage.layerFromConfig)),
  Layer.provideMerge(Layer.merge(Logging.layer, Tracing.layer))
)

/** The capabilities configured from the environment. */
export const layer = layerFromConfig.pipe(Layer.provideMerge(Settings.layer))

/** Logs the address once the server listens, with the time since the process started. */
export const announceListening = Layer.effectDiscard(Effect.gen(function*() {
  const server = yield* HttpServer.HttpServer
  yield* Effect.logInfo(
    `listening on ${HttpServer.formatAddress(server.address)} (started in ${Math.round(performance.now())} ms)`
  )
}))
