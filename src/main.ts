import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import * as Capabilities from "./Capabilities.ts"
import * as Server from "./http/Server.ts"

/** The API server: capabilities chosen from the environment, then the HTTP server on top. */
const Main = Capabilities.announceListening.pipe(
  Layer.provideMerge(Server.layer),
  Layer.provide(Capabilities.layer)
)

Layer.launch(Main).pipe(
  Effect.catchTag("InvalidConfiguration", (error) =>
    Effect.sync(() => {
      console.error(error.message)
      process.exitCode = 78 // EX_CONFIG
    })),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
