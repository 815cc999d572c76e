import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit, Layer, Predicate, Runtime } from "effect"
import type { InvalidConfiguration } from "../config/AppConfig.ts"

/** SIGTERM/SIGINT interrupt the program, which drains and closes everything: a clean stop, exit 0. */
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

/**
 * Runs a process (server or worker) until it is signalled to stop. A bad configuration is
 * printed as a list of the bad variables and exits with 78 (EX_CONFIG), without a stack trace.
 */
export const launch = <A, E>(program: Layer.Layer<A, E>) =>
  Layer.launch(program).pipe(
    Effect.catchIf(
      (error): error is E & InvalidConfiguration => Predicate.isTagged(error, "InvalidConfiguration"),
      (error) =>
        Effect.sync(() => {
          console.error(error.message)
          process.exitCode = 78
        })
    ),
    NodeRuntime.runMain({ teardown })
  )
