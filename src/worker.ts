import { Effect, Layer } from "effect"
import * as Capabilities from "./Capabilities.ts"
import { launch } from "./EntryPoint.ts"

/**
 * The background worker: the same capabilities as the server, chosen from the same
 * configuration, running job consumers instead of an HTTP server. Job consumers are added
 * by the jobs feature; until then the worker starts, reports its backends and idles until
 * SIGTERM, so deployments can already run it.
 */
launch(
  Layer.effectDiscard(Effect.logInfo("worker: started, no job consumers registered")).pipe(
    Layer.provide(Capabilities.layer)
  )
)
