import { Context, Effect, Layer } from "effect"
import { AiConfig, loadSettings as loadAi } from "./AiConfig.ts"
import { AppConfig, InvalidConfiguration, loadSettings as loadApp } from "./AppConfig.ts"
import { loadSettings as loadStorage, StorageConfig } from "./StorageConfig.ts"

/**
 * Every settings module from the environment in one step, so a bad environment reports the
 * problems of all of them in one list (exit code 78) rather than one module at a time.
 */
export const layer: Layer.Layer<AppConfig | StorageConfig | AiConfig, InvalidConfiguration> = Layer.effectContext(
  Effect.gen(function*() {
    const [app, storage, ai] = yield* Effect.all([Effect.result(loadApp), Effect.result(loadStorage), Effect.result(loadAi)])
    const problems = [app, storage, ai].flatMap((result) => result._tag === "Failure" ? result.failure.problems : [])
    if (app._tag === "Failure" || storage._tag === "Failure" || ai._tag === "Failure") {
      return yield* Effect.fail(new InvalidConfiguration(problems))
    }
    return Context.make(AppConfig, app.success).pipe(
      Context.add(StorageConfig, storage.success),
      Context.add(AiConfig, ai.success)
    )
  })
)
