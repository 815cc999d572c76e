/**
 * `npm run migrate`: applies pending migrations from migrations/ to DATABASE_URL, or to the
 * embedded database under DATA_DIR when DATABASE_URL is unset. Exit code 1 on failure.
 */
// Deep import: the package barrel loads every Node platform module at start-up.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer } from "effect"
import * as Database from "../src/capabilities/database/Database.ts"
import * as AppConfig from "../src/config/AppConfig.ts"
import * as Logging from "../src/observability/Logging.ts"

Effect.gen(function*() {
  const database = yield* Database.DatabaseInfo
  yield* Effect.logInfo(`database: ${database.description}`)
  yield* Database.migrate
}).pipe(
  Effect.provide(Database.layer.pipe(Layer.provideMerge(Logging.layer), Layer.provideMerge(AppConfig.layer))),
  NodeRuntime.runMain
)
