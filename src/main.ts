import { Effect, Layer } from "effect"
import * as Capabilities from "./app/Capabilities.ts"
import { launch } from "./app/EntryPoint.ts"
import * as Features from "./app/Features.ts"
import * as Server from "./app/Server.ts"
import { AppConfig } from "./config/AppConfig.ts"

/**
 * The API server: capabilities chosen from the environment, then the HTTP server on top, and
 * the job worker in the same process when WORKER_IN_PROCESS says so (on by default on the
 * embedded database, so one command shows the whole flow).
 */
const InProcessWorker = Layer.unwrap(Effect.gen(function*() {
  const { workerInProcess } = yield* AppConfig
  return workerInProcess ? Features.worker : Layer.empty
}))

launch(
  Layer.merge(Capabilities.announceListening.pipe(Layer.provideMerge(Server.layer)), InProcessWorker).pipe(
    Layer.provide(Capabilities.layer)
  )
)
