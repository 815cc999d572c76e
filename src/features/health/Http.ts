import { Duration, Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { checkHealth } from "./HealthCheck.ts"

/**
 * How old an answer of GET /health may be. Probes poll it, and it is exempt from the rate limit:
 * without a shared answer a flood of it would take the pool's connections from every request.
 */
export const HEALTH_RESULT_TTL = Duration.seconds(1)

export const HealthHandlers = HttpApiBuilder.group(ServerApi, "health", Effect.fnUntraced(function*(handlers) {
  // Concurrent callers share one check in flight, and its answer for HEALTH_RESULT_TTL.
  const check = yield* Effect.cachedWithTTL(checkHealth(), HEALTH_RESULT_TTL)
  return handlers.handle("health", () => check)
}))
