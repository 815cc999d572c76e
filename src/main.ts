// Deep import: the package barrel loads every Node platform module at start-up.
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Layer, Runtime } from "effect"
import * as Capabilities from "./Capabilities.ts"
import * as Server from "./http/Server.ts"

/** The API server: capabilities chosen from the environment, then the HTTP server on top. */
const Main = Capabilities.announceListening.pipe(
  Layer.provideMerge(Server.layer),
  Layer.provide(Capabilities.layer)
)

/** SIGTERM/SIGINT interrupt the server, which drains and closes everything: a clean stop, exit 0. */
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

Layer.launch(Main).pipe(
  Effect.catchTag("InvalidConfiguration", (error) =>
    Effect.sync(() => {
      console.error(error.message)
      process.exitCode = 78 // EX_CONFIG
    })),
  NodeRuntime.runMain({ teardown })
)
