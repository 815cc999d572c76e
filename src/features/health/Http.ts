import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { checkHealth } from "./HealthCheck.ts"

export const HealthHandlers = HttpApiBuilder.group(ServerApi, "health", (handlers) =>
  Effect.succeed(handlers.handle("health", () => checkHealth())))
