import { createHash } from "node:crypto"
import { Context, Duration, Effect, Layer, Option } from "effect"
import { CacheError, CacheStore } from "../../capabilities/cache/CacheStore.ts"
import { TooManyLoginAttempts } from "../../domain/AuthErrors.ts"

export const MAX_FAILED_LOGINS = 10
export const FAILED_LOGIN_WINDOW = Duration.minutes(15)

/**
 * Brute-force protection, separate from the global rate limit: after MAX_FAILED_LOGINS failures
 * for one email from one IP within the window, that pair is refused until the window ends.
 * Counters live in the shared cache, so every instance counts together. If the cache is down
 * the check is skipped (logged): sign-in then fails anyway, since sessions need the cache.
 */
export class LoginThrottle extends Context.Service<LoginThrottle, {
  readonly check: (email: string, ip: string) => Effect.Effect<void, TooManyLoginAttempts>
  readonly recordFailure: (email: string, ip: string) => Effect.Effect<void>
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
    check: (email, ip) =>
      Effect.gen(function*() {
        const count = Option.match(yield* store.get(key(email, ip)), { onNone: () => 0, onSome: Number })
        if (count < MAX_FAILED_LOGINS) return
        const ttl = yield* store.timeToLive(key(email, ip))
        const retryAfterSeconds = Math.max(1, Math.ceil(Duration.toSeconds(Option.getOrElse(ttl, () => FAILED_LOGIN_WINDOW))))
        return yield* new TooManyLoginAttempts({ retryAfterSeconds })
      }).pipe(degrade),
    recordFailure: (email, ip) => store.increment(key(email, ip), FAILED_LOGIN_WINDOW).pipe(Effect.asVoid, degrade),
    reset: (email, ip) => store.delete(key(email, ip)).pipe(degrade)
  })
}))
