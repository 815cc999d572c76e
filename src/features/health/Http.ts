import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { CoreApi } from "../../api/Api.ts"
import { checkHealth } from "./HealthCheck.ts"

export const HealthHandlers = HttpApiBuilder.group(CoreApi, "health", (handlers) =>
  Effect.succeed(handlers.handle("health", () => checkHealth())))
