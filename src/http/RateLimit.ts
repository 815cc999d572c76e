import { Duration, Effect } from "effect"
import { RateLimiter } from "effect/persistence"
import { isRateLimitExempt } from "../api/Gateway.ts"
import * as MemoryRateLimitStore from "../capabilities/cache/MemoryRateLimitStore.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { addressBucket } from "./ClientIp.ts"

const WINDOW = Duration.minutes(1)
const WINDOW_SECONDS = 60

/** Health, metrics and documentation stay reachable whatever a client's budget (shared with the document). */
export const isExempt = isRateLimitExempt

export type RateLimitDecision =
  | { readonly _tag: "Allowed"; readonly headers: Record<string, string> }
  | { readonly _tag: "Limited"; readonly headers: Record<string, string>; readonly retryAfterSeconds: number }

/**
 * RATE_LIMIT_PER_MINUTE requests per client IP per minute with Effect's RateLimiter, on the
 * shared store (Redis: every instance counts together) or memory on embedded defaults. If the
 * shared store fails, this instance counts in its own memory until it is back (logged once per
 * outage). Answers carry the IETF RateLimit-Policy and RateLimit fields.
 */
export const make = Effect.gen(function*() {
  const { rateLimitMemoryEntries, rateLimitPerMinute: limit } = yield* AppConfig
  if (limit === 0) return undefined
  const shared = yield* RateLimiter.make
  const local = yield* RateLimiter.make.pipe(Effect.provide(MemoryRateLimitStore.layer(rateLimitMemoryEntries)))
  const policy = `"ip";q=${limit};w=${WINDOW_SECONDS}`
  let degraded = false

  const consumeOn = (limiter: RateLimiter.RateLimiter, key: string) =>
    limiter.consume({ key, limit, window: WINDOW, algorithm: "fixed-window", onExceeded: "fail" })

  const decide = (limiter: RateLimiter.RateLimiter, key: string) =>
    consumeOn(limiter, key).pipe(
      Effect.map((result): RateLimitDecision => ({
        _tag: "Allowed",
        headers: {
          "ratelimit-policy": policy,
          ratelimit: `"ip";r=${result.remaining};t=${Math.max(1, Math.ceil(Duration.toSeconds(result.resetAfter)))}`
        }
      })),
      Effect.catchIf(
        (error) => error.reason._tag === "RateLimitExceeded",
        (error) => {
          const retryAfterSeconds = error.reason._tag === "RateLimitExceeded"
            ? Math.max(1, Math.ceil(Duration.toSeconds(error.reason.retryAfter)))
            : WINDOW_SECONDS
          return Effect.succeed<RateLimitDecision>({
            _tag: "Limited",
            retryAfterSeconds,
            headers: { "ratelimit-policy": policy, ratelimit: `"ip";r=0;t=${retryAfterSeconds}` }
          })
        }
      )
    )

  return (ip: string): Effect.Effect<RateLimitDecision> => {
    const key = `${MemoryRateLimitStore.PER_ADDRESS_PREFIX}${addressBucket(ip)}`
    return decide(shared, key).pipe(
      Effect.tap(() =>
        Effect.suspend(() => {
          if (!degraded) return Effect.void
          degraded = false
          return Effect.logInfo("rate limit: shared store back, counting across instances again")
        })
      ),
      Effect.catch((error) =>
        Effect.gen(function*() {
          if (!degraded) {
            degraded = true
            yield* Effect.logWarning("rate limit: shared store unavailable, counting per instance", error)
          }
          return yield* decide(local, key).pipe(Effect.orDie)
        })
      )
    )
  }
})
