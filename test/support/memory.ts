import { Layer } from "effect"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as CacheStore from "../../src/capabilities/cache/CacheStore.ts"
import * as Transactions from "../../src/capabilities/database/Transactions.ts"
import * as Mailer from "../../src/capabilities/mail/Mailer.ts"
import * as JobQueue from "../../src/capabilities/queue/JobQueue.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import * as Features from "../../src/app/Features.ts"

/**
 * Every feature's services on in-memory layers: repositories in Maps, the cache in memory
 * (expiry by the Effect Clock, so TestClock moves it), jobs collected in `EnqueuedJobs`, mails in `SentMails`, bcrypt
 * at its minimum cost, the fake language model and the memory vector index. Build it fresh per
 * test (`Layer.fresh` or `it.effect(..., Effect.provide(memoryLayer()))`).
 */
export const memoryLayer = (config: Partial<AppConfig.AppSettings> = {}) =>
  Features.layerMemory.pipe(
    Layer.provideMerge(Layer.mergeAll(CacheStore.layerMemory, JobQueue.layerMemory, Mailer.layerMemory, Transactions.layerMemory, LanguageModel.layerMemory, VectorIndex.layerMemory)),
    Layer.provideMerge(AppConfig.layerTest(config))
  )
