import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import type { Healthy, Unhealthy } from "../../api/Health.ts"
import { CacheStore } from "../../capabilities/cache/CacheStore.ts"
import { DatabaseInfo } from "../../capabilities/database/Database.ts"
import { AppConfig } from "../../config/AppConfig.ts"

export type HealthReport = typeof Healthy.Type | typeof Unhealthy.Type

/** Succeeds with whether `probe` answered within the timeout; never fails, never hangs. */
const answers = <E, R>(probe: Effect.Effect<unknown, E, R>, timeout: AppConfig["Service"]["healthCheckTimeout"]) =>
  probe.pipe(Effect.timeout(timeout), Effect.as(true), Effect.catchCause(() => Effect.succeed(false)))

/**
 * PostgreSQL is critical (unreachable: unhealthy), Redis is important (unreachable: degraded).
 * Both probes run at once, each bounded by `HEALTH_CHECK_TIMEOUT`.
 */
export const checkHealth = Effect.fn("checkHealth")(function*() {
  const { healthCheckTimeout } = yield* AppConfig
  const database = yield* DatabaseInfo
  const sql = yield* SqlClient.SqlClient
  const cache = yield* CacheStore
  const [databaseUp, cacheUp] = yield* Effect.all([
    answers(sql`SELECT 1`, healthCheckTimeout),
    answers(cache.ping, healthCheckTimeout)
  ], { concurrency: 2 })
  const report = {
    database: databaseUp ? (database.kind === "embedded" ? "embedded" : "connected") : "unreachable",
    redis: cacheUp ? (cache.kind === "memory" ? "embedded" : "connected") : "unreachable"
  } as const
  if (!databaseUp) return { status: "unhealthy", ...report } satisfies HealthReport
  return { status: cacheUp ? "healthy" : "degraded", ...report } satisfies HealthReport
})
