import { Effect, Layer, Logger, References } from "effect"
import { AppConfig } from "../config/AppConfig.ts"

/** One JSON object per line on stdout, at the level LOG_LEVEL asks for. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const { logLevel } = yield* AppConfig
  return Layer.merge(
    Logger.layer([Logger.consoleJson]),
    Layer.succeed(References.MinimumLogLevel, logLevel)
  )
}))
