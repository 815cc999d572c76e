import { errors, jwtVerify, SignJWT } from "jose"
import { Cache, Clock, Context, Duration, Effect, Exit, Layer, Redacted, Schema } from "effect"
import { MAX_ACCESS_TOKEN_LENGTH } from "../../api/Auth.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { InvalidAccessToken } from "../../domain/AuthErrors.ts"
import type { Actor } from "../../domain/Policy.ts"
import { Role, UserId } from "../../domain/User.ts"

/** RFC 9068 type of an access token; refresh and reset tokens are opaque, never JWTs. */
const ACCESS_TOKEN_TYPE = "at+jwt"
/** The only algorithm accepted (RFC 8725 §3.1): `none`, RS*, ES* and confusion attacks fail. */
const ALGORITHMS = ["HS256"]
const CLOCK_SKEW_SECONDS = 5
/**
 * Tokens verified recently, kept so that a client's next requests skip the HMAC check (a
 * WebCrypto job on the thread pool, the largest single cost of a cached read). Only tokens that
 * passed verification stay, keyed by their whole text, signature included, and never past
 * their expiry; revocation does not depend on it (sessions are checked on every request).
 * Empty and oversized tokens are refused before the cache; a flood of other junk can at worst
 * evict valid entries while it is being checked, which costs speed, never correctness.
 */
const VERIFIED_CAPACITY = 10_000

const Claims = Schema.Struct({
  sub: UserId,
  sid: Schema.String.check(Schema.isMinLength(16), Schema.isMaxLength(64)),
  role: Role
})

export interface IssuedAccessToken {
  readonly token: string
  readonly expiresInSeconds: number
}

export class AccessTokens extends Context.Service<AccessTokens, {
  readonly issue: (actor: Actor) => Effect.Effect<IssuedAccessToken>
  readonly verify: (token: string) => Effect.Effect<Actor, InvalidAccessToken>
}>()("customify/features/auth/AccessTokens") {}

export const layer = Layer.effect(AccessTokens, Effect.gen(function*() {
  const config = yield* AppConfig
  // Imported once: handing jose raw bytes would import the key again on every sign and verify.
  const key = yield* Effect.promise(() =>
    crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(Redacted.value(config.jwtSecret)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"]
    )
  )
  const ttlSeconds = Math.floor(Duration.toSeconds(config.accessTokenTtl))
  const decodeClaims = Schema.decodeUnknownEffect(Claims)

  const issue = Effect.fn("AccessTokens.issue")(function*(actor: Actor) {
    const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const token = yield* Effect.promise(() =>
      new SignJWT({ sid: actor.sessionId, role: actor.role })
        .setProtectedHeader({ alg: "HS256", typ: ACCESS_TOKEN_TYPE })
        .setIssuer(config.jwtIssuer)
        .setAudience(config.jwtAudience)
        .setSubject(actor.userId)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(key)
    )
    return { token, expiresInSeconds: ttlSeconds }
  })

  const refuseUnusable = (token: string) =>
    token.length === 0
      ? new InvalidAccessToken({ reason: "missing" })
      : token.length > MAX_ACCESS_TOKEN_LENGTH
      ? new InvalidAccessToken({ reason: "malformed" })
      : undefined

  /** The full check, behind the cache (`refuseUnusable` has run). */
  const verify = Effect.fn("AccessTokens.verify")(function*(token: string) {
    const now = yield* Clock.currentTimeMillis
    const { payload } = yield* Effect.tryPromise({
      try: () =>
        jwtVerify(token, key, {
          algorithms: ALGORITHMS,
          issuer: config.jwtIssuer,
          audience: config.jwtAudience,
          typ: ACCESS_TOKEN_TYPE,
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: new Date(now),
          requiredClaims: ["sub", "sid", "role", "iat", "exp"]
        }),
      catch: (error) =>
        new InvalidAccessToken({
          reason: error instanceof errors.JWTExpired
            ? "expired"
            : error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid
            ? "malformed"
            : "invalid"
        })
    })
    const claims = yield* decodeClaims(payload).pipe(
      Effect.mapError(() => new InvalidAccessToken({ reason: "invalid" }))
    )
    return {
      actor: { userId: claims.sub, role: claims.role, sessionId: claims.sid } satisfies Actor,
      // By the effect clock, which the cache's expiry also uses.
      validForMillis: (payload.exp ?? 0) * 1000 - now
    }
  })

  const verified = yield* Cache.makeWith(verify, {
    capacity: VERIFIED_CAPACITY,
    // Failures are not kept: junk tokens cannot crowd out valid ones.
    timeToLive: (exit) => Exit.isSuccess(exit) ? Duration.millis(Math.max(0, exit.value.validForMillis)) : Duration.zero
  })

  return AccessTokens.of({
    issue,
    verify: (token) => {
      const unusable = refuseUnusable(token)
      return unusable !== undefined ? Effect.fail(unusable) : Effect.map(Cache.get(verified, token), ({ actor }) => actor)
    }
  })
}))
