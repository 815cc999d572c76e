import { createHash, createHmac, randomBytes } from "node:crypto"
import { Cache, Clock, Context, Duration, Effect, Exit, FiberSet, Layer, Option, Redacted, Schedule } from "effect"
import { CacheStore } from "../../capabilities/cache/CacheStore.ts"
import { outageLog } from "../../capabilities/cache/OutageLog.ts"
import type { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { InvalidCredentials, InvalidRefreshToken, RefreshTokenReused, SessionRevoked } from "../../domain/AuthErrors.ts"
import type { Actor } from "../../domain/Policy.ts"
import { MAX_CLIENT_LENGTH } from "../../domain/Session.ts"
import type { Role, UserId } from "../../domain/User.ts"
import { type OpenSession, type RevocationReason, SessionsRepository } from "./SessionsRepository.ts"

/** A rotated refresh token still works this long, for a client that refreshed twice at once. */
export const REUSE_GRACE = Duration.seconds(5)
/** How long an instance trusts its last answer to "is this session alive?". */
export const LIVENESS_CACHE_TTL = Duration.millis(500)
/** How long the shared cache keeps "this session is open" before asking PostgreSQL again. */
const OPEN_STATE_TTL = Duration.seconds(30)

const OPEN = "open"
const REVOKED = "revoked"
const stateKey = (sessionId: string) => `session-state:v2:${sessionId}`

const randomToken = (bytes: number) => randomBytes(bytes).toString("base64url")
const sha256 = (value: string) => createHash("sha256").update(value).digest("base64url")

/** `<session id>.<256 random bits>`: the session id names the session, the rest proves possession. */
const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/

export interface StartedSession {
  readonly actor: Actor
  readonly refreshToken: string
}

/** Sessions revoked in PostgreSQL, to announce once their transaction committed. */
export interface RevokedSessions {
  readonly sessionIds: ReadonlyArray<string>
}

export interface SigningInAccount {
  readonly id: UserId
  /** The hash the password was verified against: the session starts only while it is current. */
  readonly passwordHash: string
}

/**
 * Sessions, durable in PostgreSQL (the source of truth), with their liveness cached in the
 * shared cache (one look-up on the hot path) and for LIVENESS_CACHE_TTL in this process. A
 * session lives until its idle lifetime passes without a refresh, its absolute lifetime ends,
 * or it is revoked. Refresh tokens are opaque, stored only as SHA-256 hashes and rotated on
 * every use; the role is the account's at every refresh.
 */
export class Sessions extends Context.Service<Sessions, {
  readonly start: (
    account: SigningInAccount,
    client?: string | undefined
  ) => Effect.Effect<StartedSession, InvalidCredentials | DatabaseUnavailable>
  readonly refresh: (
    refreshToken: string
  ) => Effect.Effect<StartedSession, InvalidRefreshToken | RefreshTokenReused | DatabaseUnavailable>
  /** Strict: a revoked session is never alive, whatever the cache's state. */
  readonly isAlive: (sessionId: string) => Effect.Effect<boolean, DatabaseUnavailable>
  readonly end: (actor: Actor) => Effect.Effect<void, DatabaseUnavailable>
  /** The user's open sessions, most recently used first. */
  readonly listOpen: (userId: UserId) => Effect.Effect<ReadonlyArray<OpenSession>, DatabaseUnavailable>
  /**
   * Ends one open session of the user, like a logout on that device: every instance refuses its
   * tokens at once. False when the user has no such open session.
   */
  readonly endOne: (userId: UserId, sessionId: string) => Effect.Effect<boolean, DatabaseUnavailable>
  /**
   * In the caller's transaction: holds the actor's session open until it commits (a revocation
   * waits for it), or fails `SessionRevoked` when it already ended, so a request whose session
   * was revoked while it ran (a reset, a password change elsewhere) changes nothing.
   */
  readonly holdOpen: (actor: Actor) => Effect.Effect<void, SessionRevoked | DatabaseUnavailable>
  /**
   * Revokes every session of the user (but `except`), in the caller's transaction if there is
   * one; answers the sessions to `announce` once it committed.
   */
  readonly revokeAllOf: (
    userId: UserId,
    reason: RevocationReason,
    options?: { readonly except?: string }
  ) => Effect.Effect<RevokedSessions, DatabaseUnavailable>
  /**
   * Tells every instance, through the shared cache, that the sessions ended. Until then (or
   * if the process stops in between) an instance may trust its cached "open" for at most
   * OPEN_STATE_TTL; told before the commit, a rolled-back revocation would sign users out.
   */
  readonly announce: (revoked: RevokedSessions) => Effect.Effect<void>
}>()("customify/features/auth/Sessions") {}

export const layer = Layer.effect(Sessions, Effect.gen(function*() {
  const store = yield* CacheStore
  const repository = yield* SessionsRepository
  const config = yield* AppConfig
  const idleMillis = Duration.toMillis(config.refreshTokenIdleTtl)
  const absoluteMillis = Duration.toMillis(config.refreshTokenAbsoluteTtl)
  // A revoked session's access tokens live at most this long; its state must outlive them.
  const revokedStateTtl = Duration.sum(config.accessTokenTtl, Duration.minutes(1))
  // The successor of a refresh token is derived from it, so a second refresh of the same token
  // within the grace window gets the same successor without any token being stored in the clear.
  const successorKey = createHmac("sha256", Redacted.value(config.jwtSecret)).update("refresh-token-successor").digest()
  const successorOf = (token: string, sessionId: string) =>
    `${sessionId}.${createHmac("sha256", successorKey).update(token).digest("base64url")}`
  const background = yield* FiberSet.make()

  const degraded = outageLog("sessions: cache unreachable, asking PostgreSQL")
  const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

  /** PostgreSQL's answer, shared through the cache without ever overwriting a revocation. */
  const fromDatabase = (sessionId: string) =>
    Effect.gen(function*() {
      const at = yield* now
      const open = yield* repository.openUntil(sessionId, at)
      if (Option.isNone(open)) {
        yield* store.set(stateKey(sessionId), REVOKED, revokedStateTtl).pipe(Effect.catch(degraded))
        return false
      }
      const ttl = Duration.min(OPEN_STATE_TTL, Duration.millis(open.value.getTime() - at.getTime()))
      yield* store.setIfAbsent(stateKey(sessionId), OPEN, ttl).pipe(Effect.catch(degraded))
      return true
    })

  const lookup = (sessionId: string) =>
    store.get(stateKey(sessionId)).pipe(
      Effect.catch((error) => Effect.as(degraded(error), Option.none<string>())),
      Effect.flatMap(Option.match({
        onSome: (state) => Effect.succeed(state === OPEN),
        onNone: () => fromDatabase(sessionId)
      }))
    )

  const liveness = yield* Cache.makeWith(lookup, {
    capacity: 50_000,
    timeToLive: (exit) => Exit.isSuccess(exit) ? LIVENESS_CACHE_TTL : Duration.zero
  })

  /**
   * Sessions revoked in the last DENY_TTL, by this instance or (through PostgreSQL's
   * notifications) any other: refused before any cache is asked, so a shared cache that still
   * says "open" (a reader filled it just before the revocation, or the revoking instance could
   * not reach it) is never believed. Insertion order is time order, so expired entries are
   * swept from the front.
   */
  const recentlyRevoked = new Map<string, number>()
  const denyMillis = Duration.toMillis(OPEN_STATE_TTL) + Duration.toMillis(Duration.seconds(5))
  const markRevoked = (sessionIds: ReadonlyArray<string>) =>
    Effect.clockWith((clock) => {
      const at = clock.currentTimeMillisUnsafe()
      for (const [sessionId, until] of recentlyRevoked) {
        if (until > at) break
        recentlyRevoked.delete(sessionId)
      }
      for (const sessionId of sessionIds) {
        recentlyRevoked.delete(sessionId)
        recentlyRevoked.set(sessionId, at + denyMillis)
      }
      return Effect.forEach(sessionIds, (sessionId) => Cache.invalidate(liveness, sessionId), { discard: true })
    })
  const revokedRecently = (sessionId: string, at: number) => (recentlyRevoked.get(sessionId) ?? 0) > at

  /**
   * After the commit: this instance refuses the sessions at once, and the shared cache is told
   * in the background, in parallel, retried until the sessions' access tokens have expired (so
   * a cache that comes back with old data cannot revive them). The request does not wait for
   * the cache: a slow or unreachable one cannot turn a committed change into an error.
   */
  const announceRevoked = (sessionIds: ReadonlyArray<string>) =>
    Effect.andThen(
      markRevoked(sessionIds),
      sessionIds.length === 0 ? Effect.void : FiberSet.run(background)(
        Effect.forEach(sessionIds, (sessionId) =>
          store.set(stateKey(sessionId), REVOKED, revokedStateTtl).pipe(
            Effect.tapError(degraded),
            Effect.retry(Schedule.spaced(Duration.seconds(1)).pipe(Schedule.upTo({ duration: revokedStateTtl }))),
            Effect.ignore
          ), { concurrency: "unbounded", discard: true })
      ).pipe(Effect.asVoid)
    )

  // Other instances' revocations, as they commit.
  yield* repository.listenRevoked((sessionId) => markRevoked([sessionId]))

  const start = Effect.fn("Sessions.start")(function*(account: SigningInAccount, client?: string) {
    const at = yield* now
    const sessionId = randomToken(16)
    const refreshToken = `${sessionId}.${randomToken(32)}`
    const role = yield* repository.create({
      id: sessionId,
      userId: account.id,
      passwordHash: account.passwordHash,
      tokenHash: sha256(refreshToken),
      client: client === undefined ? null : client.slice(0, MAX_CLIENT_LENGTH),
      now: at,
      idleExpiresAt: new Date(at.getTime() + Math.min(idleMillis, absoluteMillis)),
      absoluteExpiresAt: new Date(at.getTime() + absoluteMillis)
    })
    if (Option.isNone(role)) return yield* new InvalidCredentials()
    // The oldest sessions beyond the limit end (a device that has not been used in a while).
    yield* announceRevoked(yield* repository.revokeBeyond(account.id, sessionId, config.maxSessionsPerUser, at))
    return { actor: { userId: account.id, role: role.value, sessionId }, refreshToken }
  })

  const refresh = Effect.fn("Sessions.refresh")(function*(refreshToken: string) {
    const sessionId = REFRESH_TOKEN.exec(refreshToken)?.[1]
    if (sessionId === undefined) return yield* new InvalidRefreshToken()
    const at = yield* now
    const successor = successorOf(refreshToken, sessionId)
    const outcome = yield* repository.rotate({
      presentedHash: sha256(refreshToken),
      successorHash: sha256(successor),
      now: at,
      idleExpiresAt: new Date(at.getTime() + idleMillis),
      graceStart: new Date(at.getTime() - Duration.toMillis(REUSE_GRACE))
    })
    switch (outcome._tag) {
      case "Unknown":
        return yield* new InvalidRefreshToken()
      case "Disabled": {
        yield* announceRevoked([outcome.sessionId])
        return yield* new InvalidRefreshToken()
      }
      case "Reused": {
        // A token rotated earlier came back: whoever holds it is not the legitimate client (or
        // both are, and one is a thief). The whole session ended with it.
        yield* announceRevoked([outcome.sessionId])
        yield* Effect.logWarning("sessions: refresh token reuse detected, session revoked").pipe(
          Effect.annotateLogs({ userId: outcome.userId, sessionId: outcome.sessionId })
        )
        return yield* new RefreshTokenReused()
      }
      case "Rotated": {
        const actor: Actor = { userId: outcome.userId, role: outcome.role satisfies Role, sessionId: outcome.sessionId }
        return { actor, refreshToken: successor }
      }
    }
  })

  const revokeOne = (userId: UserId, sessionId: string, reason: RevocationReason) =>
    Effect.gen(function*() {
      const ended = yield* repository.revoke(sessionId, userId, reason, yield* now)
      if (ended) yield* announceRevoked([sessionId])
      return ended
    })
  const end = Effect.fn("Sessions.end")(function*(actor: Actor) {
    yield* revokeOne(actor.userId, actor.sessionId, "logout")
  })
  const endOne = Effect.fn("Sessions.endOne")(function*(userId: UserId, sessionId: string) {
    return yield* revokeOne(userId, sessionId, "signed_out")
  })

  const revokeAllOf = Effect.fn("Sessions.revokeAllOf")(
    function*(userId: UserId, reason: RevocationReason, options?: { readonly except?: string }) {
      return { sessionIds: yield* repository.revokeAllOf(userId, reason, yield* now, options?.except) }
    }
  )

  return Sessions.of({
    start,
    refresh,
    isAlive: (sessionId) =>
      Effect.clockWith((clock) =>
        revokedRecently(sessionId, clock.currentTimeMillisUnsafe()) ? Effect.succeed(false) : Cache.get(liveness, sessionId)
      ),
    end,
    listOpen: (userId) => Effect.flatMap(now, (at) => repository.listOpen(userId, at)),
    endOne,
    holdOpen: (actor) =>
      Effect.flatMap(now, (at) => repository.lockOpen(actor.sessionId, at)).pipe(
        Effect.flatMap((open) => open ? Effect.void : Effect.fail(new SessionRevoked()))
      ),
    revokeAllOf,
    announce: (revoked) => announceRevoked(revoked.sessionIds)
  })
}))
