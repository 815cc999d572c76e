import { Clock, Duration, Effect } from "effect"
import type { CacheError } from "./CacheStore.ts"

/** How often one caller logs that the cache is unreachable while it stays so. */
export const OUTAGE_LOG_INTERVAL = Duration.seconds(30)

/**
 * A warning that the cache was bypassed, logged at most once per interval: an outage is
 * reported, not repeated on every request that meets it.
 */
export const outageLog = (message: string) => {
  let last = Number.NEGATIVE_INFINITY
  return (error: CacheError) =>
    Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      if (at - last < Duration.toMillis(OUTAGE_LOG_INTERVAL)) return
      last = at
      yield* Effect.logWarning(message, error.cause)
    })
}
