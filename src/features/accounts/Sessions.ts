import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { Cache, Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { type CacheError, CacheStore } from "../../capabilities/cache/CacheStore.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { InvalidRefreshToken, RefreshTokenReused } from "../../domain/AuthErrors.ts"
import type { Actor } from "../../domain/Policy.ts"
import { Role, UserId } from "../../domain/User.ts"

/** A rotated refresh token still works this long, for a client that refreshed twice at once. */
export const REUSE_GRACE = Duration.seconds(5)
/** How long an instance trusts its last answer to "is this session alive?". */
export const LIVENESS_CACHE_TTL = Duration.millis(500)
/** Rotated token hashes kept per session, to recognise a replayed one. */
const KEPT_TOKENS = 20

const TokenEntry = Schema.Struct({
  hash: Schema.String,
  issuedAt: Schema.Number,
  rotatedAt: Schema.NullOr(Schema.Number)
})
const SessionRecord = Schema.Struct({
  userId: UserId,
  role: Role,
  createdAt: Schema.Number,
  absoluteExpiresAt: Schema.Number,
  tokens: Schema.Array(TokenEntry)
})
type SessionRecord = typeof SessionRecord.Type
const SessionJson = Schema.fromJsonString(SessionRecord)

const sessionKey = (sessionId: string) => `session:v1:${sessionId}`
const userSessionsKey = (userId: string) => `user-sessions:v1:${userId}`

const randomToken = (bytes: number) => randomBytes(bytes).toString("base64url")
const sha256 = (value: string) => createHash("sha256").update(value).digest("base64url")
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/** `<session id>.<256 random bits>`: the session id locates the record, the rest proves possession. */
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/
const parseRefreshToken = (token: string) => {
  const [sessionId, secret, ...rest] = token.split(".")
  return sessionId !== undefined && SESSION_ID.test(sessionId) && secret?.length === 43 && rest.length === 0
    ? Option.some(sessionId)
    : Option.none()
}

export interface StartedSession {
  readonly actor: Actor
  readonly refreshToken: string
}

/**
 * Sessions in the shared cache (Redis), so every API instance sees a logout at once. A session
 * lives until its idle lifetime passes without a refresh, its absolute lifetime ends, or it is
 * revoked. Refresh tokens are opaque, stored only as SHA-256 hashes and rotated on every use.
 */
export class Sessions extends Context.Service<Sessions, {
  readonly start: (user: { readonly id: UserId; readonly role: Role }) => Effect.Effect<StartedSession, CacheError>
  readonly refresh: (
    refreshToken: string
  ) => Effect.Effect<StartedSession, InvalidRefreshToken | RefreshTokenReused | CacheError>
  /** Fails open (true) when the cache is unreachable: the access token was still verified. */
  readonly isAlive: (sessionId: string) => Effect.Effect<boolean>
  readonly end: (actor: Actor) => Effect.Effect<void, CacheError>
  readonly endAllOf: (userId: UserId, options?: { readonly except?: string }) => Effect.Effect<void, CacheError>
}>()("customify/features/auth/Sessions") {}

export const layer = Layer.effect(Sessions, Effect.gen(function*() {
  const store = yield* CacheStore
  const config = yield* AppConfig
  const idleMillis = Duration.toMillis(config.refreshTokenIdleTtl)
  const absoluteMillis = Duration.toMillis(config.refreshTokenAbsoluteTtl)

  const read = (sessionId: string) =>
    store.get(sessionKey(sessionId)).pipe(
      Effect.map(Option.flatMap((json) => Schema.decodeUnknownOption(SessionJson)(json)))
    )

  const write = (sessionId: string, record: SessionRecord, now: number) => {
    const ttl = Duration.millis(Math.max(1, Math.min(idleMillis, record.absoluteExpiresAt - now)))
    return Effect.andThen(
      store.set(sessionKey(sessionId), Schema.encodeSync(SessionJson)(record), ttl),
      store.addToSet(userSessionsKey(record.userId), sessionId, Duration.millis(absoluteMillis))
    )
  }

  const liveness = yield* Cache.make({
    capacity: 50_000,
    timeToLive: LIVENESS_CACHE_TTL,
    lookup: (sessionId: string) =>
      store.get(sessionKey(sessionId)).pipe(
        Effect.map(Option.isSome),
        Effect.catch((error) =>
          Effect.as(Effect.logWarning("sessions: cache unreachable, accepting verified tokens", error.cause), true)
        )
      )
  })

  const remove = (sessionId: string, userId: string) =>
    Effect.andThen(
      Effect.all([store.delete(sessionKey(sessionId)), store.removeFromSet(userSessionsKey(userId), sessionId)]),
      Cache.invalidate(liveness, sessionId)
    )

  const start = Effect.fn("Sessions.start")(function*(user: { readonly id: UserId; readonly role: Role }) {
    const now = yield* Clock.currentTimeMillis
    const sessionId = randomToken(16)
    const refreshToken = `${sessionId}.${randomToken(32)}`
    yield* write(sessionId, {
      userId: user.id,
      role: user.role,
      createdAt: now,
      absoluteExpiresAt: now + absoluteMillis,
      tokens: [{ hash: sha256(refreshToken), issuedAt: now, rotatedAt: null }]
    }, now)
    return { actor: { userId: user.id, role: user.role, sessionId }, refreshToken }
  })

  const refresh = Effect.fn("Sessions.refresh")(function*(refreshToken: string) {
    const sessionId = yield* Option.match(parseRefreshToken(refreshToken), {
      onNone: () => Effect.fail(new InvalidRefreshToken()),
      onSome: Effect.succeed
    })
    const now = yield* Clock.currentTimeMillis
    const record = yield* Effect.flatMap(read(sessionId), Option.match({
      onNone: () => Effect.fail(new InvalidRefreshToken()),
      onSome: Effect.succeed
    }))
    if (record.absoluteExpiresAt <= now) {
      yield* remove(sessionId, record.userId)
      return yield* new InvalidRefreshToken()
    }
    const hash = sha256(refreshToken)
    const presented = record.tokens.find((entry) => sameHash(entry.hash, hash))
    if (presented === undefined) return yield* new InvalidRefreshToken()
    if (presented.rotatedAt !== null && now - presented.rotatedAt > Duration.toMillis(REUSE_GRACE)) {
      // A token rotated earlier came back: whoever holds it is not the legitimate client (or both
      // are, and one is a thief). End the whole session so the stolen family dies with it.
      yield* remove(sessionId, record.userId)
      yield* Effect.logWarning("sessions: refresh token reuse detected, session revoked").pipe(
        Effect.annotateLogs({ userId: record.userId, sessionId })
      )
      return yield* new RefreshTokenReused()
    }
    const next = `${sessionId}.${randomToken(32)}`
    const tokens = [
      ...record.tokens.map((entry) => entry === presented && entry.rotatedAt === null ? { ...entry, rotatedAt: now } : entry),
      { hash: sha256(next), issuedAt: now, rotatedAt: null }
    ].slice(-KEPT_TOKENS)
    yield* write(sessionId, { ...record, tokens }, now)
    return { actor: { userId: record.userId, role: record.role, sessionId }, refreshToken: next }
  })

  const endAllOf = Effect.fn("Sessions.endAllOf")(function*(userId: UserId, options?: { readonly except?: string }) {
    const sessionIds = yield* store.members(userSessionsKey(userId))
    yield* Effect.forEach(
      sessionIds.filter((sessionId) => sessionId !== options?.except),
      (sessionId) => remove(sessionId, userId),
      { discard: true }
    )
  })

  return Sessions.of({
    start,
    refresh,
    isAlive: (sessionId) => Cache.get(liveness, sessionId),
    end: (actor) => remove(actor.sessionId, actor.userId),
    endAllOf
  })
}))
