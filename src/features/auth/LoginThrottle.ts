import { createHash } from "node:crypto"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { CacheError, CacheStore } from "../../capabilities/cache/CacheStore.ts"
import { TooManyLoginAttempts } from "../../domain/AuthErrors.ts"

export const MAX_FAILED_LOGINS = 10
export const FAILED_LOGIN_WINDOW = Duration.minutes(15)

/**
 * Brute-force protection, separate from the global rate limit: at most MAX_FAILED_LOGINS
 * attempts for one email from one IP within the window count; beyond that the pair is refused
 * until the window ends. Each attempt is counted atomically before the password is checked, so
 * a burst of parallel guesses cannot all slip under the limit; a successful sign-in clears the
 * count. Counters live in the shared cache, so every instance counts together. If the cache is
 * down the check is skipped (logged): sign-in then fails anyway, since sessions need the cache.
 */
export class LoginThrottle extends Context.Service<LoginThrottle, {
  /** Counts this attempt; fails once the pair has used up its attempts. */
  readonly attempt: (email: string, ip: string) => Effect.Effect<void, TooManyLoginAttempts>
  readonly reset: (email: string, ip: string) => Effect.Effect<void>
}>()("customify/features/auth/LoginThrottle") {}

const key = (email: string, ip: string) =>
  `login-failures:v1:${createHash("sha256").update(`${email}\n${ip}`).digest("base64url")}`

export const layer = Layer.effect(LoginThrottle, Effect.gen(function*() {
  const store = yield* CacheStore
  const degrade = <E>(effect: Effect.Effect<void, E | CacheError>) =>
    Effect.catchIf(effect, (error): error is CacheError => error instanceof CacheError, (error) =>
      Effect.logWarning("login throttle: cache unreachable, not counting", error.cause))
  return LoginThrottle.of({
    attempt: (email, ip) =>
      Effect.gen(function*() {
        const count = yield* store.increment(key(email, ip), FAILED_LOGIN_WINDOW)
        if (count <= MAX_FAILED_LOGINS) return
        const ttl = yield* store.timeToLive(key(email, ip))
        const retryAfterSeconds = Math.max(1, Math.ceil(Duration.toSeconds(Option.getOrElse(ttl, () => FAILED_LOGIN_WINDOW))))
        return yield* new TooManyLoginAttempts({ retryAfterSeconds })
      }).pipe(degrade),
    reset: (email, ip) => store.delete(key(email, ip)).pipe(degrade)
  })
}))
