import { PgClient } from "@effect/sql-pg"
import { Context, Duration, Effect, Layer, Option, Queue, type Scope } from "effect"
import { SqlClient, type Statement } from "effect/sql"
import { DatabaseInfo } from "../../capabilities/database/Database.ts"
import { type DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import { joinOrBegin } from "../../capabilities/database/Transactions.ts"
import type { Role, UserId } from "../../domain/User.ts"
import { AccountsRepository } from "./AccountsRepository.ts"

export interface NewSession {
  readonly id: string
  readonly userId: UserId
  /** The hash the password was just verified against: the session starts only if it is still current. */
  readonly passwordHash: string
  readonly tokenHash: string
  readonly client: string | null
  readonly now: Date
  readonly idleExpiresAt: Date
  readonly absoluteExpiresAt: Date
}

export interface Rotation {
  readonly presentedHash: string
  readonly successorHash: string
  readonly now: Date
  readonly idleExpiresAt: Date
  /** A token rotated at or after this instant may still be presented (two tabs at once). */
  readonly graceStart: Date
}

/** What a refresh found, decided and committed in one step. */
export type RotationOutcome =
  | { readonly _tag: "Rotated"; readonly sessionId: string; readonly userId: UserId; readonly role: Role }
  | { readonly _tag: "Unknown" }
  /** A token rotated before the grace window came back: the session was revoked. */
  | { readonly _tag: "Reused"; readonly sessionId: string; readonly userId: UserId }
  /** The account was disabled: the session was revoked. */
  | { readonly _tag: "Disabled"; readonly sessionId: string; readonly userId: UserId }

/** Rows deleted per statement while pruning. */
const PRUNE_BATCH = 1_000

/** The PostgreSQL channel every instance listens on for revoked sessions (payload: a session id). */
const REVOKED_CHANNEL = "customify_session_revoked"

export type RevocationReason =
  | "logout"
  | "reuse"
  | "password"
  | "administrator"
  | "account_disabled"
  | "account_deleted"
  | "session_limit"
  /** Signed out from the device list (DELETE /users/me/sessions/{id}). */
  | "signed_out"

/** An open session as its owner's device list shows it. */
export interface OpenSession {
  readonly id: string
  readonly createdAt: Date
  readonly lastUsedAt: Date
  readonly client: string | null
}

/** The most sessions a device list holds: MAX_SESSIONS_PER_USER is at most this. */
export const MAX_LISTED_SESSIONS = 1000

/**
 * The source of truth for sessions. A refresh and a revocation of the same session serialize on
 * the session's row; a session only starts while the account still has the password that was
 * just verified and is enabled, so a sign-in racing a password reset or a ban cannot survive it.
 */
export class SessionsRepository extends Context.Service<SessionsRepository, {
  /** The account's current role, or None when its password changed or it was disabled meanwhile. */
  readonly create: (session: NewSession) => Effect.Effect<Option.Option<Role>, DatabaseUnavailable>
  readonly rotate: (rotation: Rotation) => Effect.Effect<RotationOutcome, DatabaseUnavailable>
  /** Locks the session's row for the caller's transaction if it is open at `now`; false otherwise. */
  readonly lockOpen: (sessionId: string, now: Date) => Effect.Effect<boolean, DatabaseUnavailable>
  /** The session's open state: None when it is unknown, revoked or expired at `now`. */
  readonly openUntil: (sessionId: string, now: Date) => Effect.Effect<Option.Option<Date>, DatabaseUnavailable>
  /** Revokes the session if it is the user's and open at `now`; false otherwise. */
  readonly revoke: (sessionId: string, userId: UserId, reason: RevocationReason, now: Date) => Effect.Effect<boolean, DatabaseUnavailable>
  /** The user's sessions open at `now`, most recently used first (at most MAX_LISTED_SESSIONS). */
  readonly listOpen: (userId: UserId, now: Date) => Effect.Effect<ReadonlyArray<OpenSession>, DatabaseUnavailable>
  /** Revokes every open session of the user (but `except`); answers their ids. */
  readonly revokeAllOf: (
    userId: UserId,
    reason: RevocationReason,
    now: Date,
    except?: string
  ) => Effect.Effect<ReadonlyArray<string>, DatabaseUnavailable>
  /** Revokes the user's open sessions beyond `current` and the `keep - 1` newest others; answers their ids. */
  readonly revokeBeyond: (
    userId: UserId,
    current: string,
    keep: number,
    now: Date
  ) => Effect.Effect<ReadonlyArray<string>, DatabaseUnavailable>
  /**
   * Calls `handler` with every session another instance revokes, from the moment it commits,
   * for as long as the scope lives (nothing to hear on an embedded or in-memory database).
   */
  readonly listenRevoked: (handler: (sessionId: string) => Effect.Effect<void>) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Deletes sessions (and their tokens) that ended before `before`, and tokens rotated before
   * it (presented again, such a token is refused as unknown instead of ending its session);
   * in batches, so no statement holds many locks. Answers how many rows went.
   */
  readonly prune: (before: Date) => Effect.Effect<number, DatabaseUnavailable>
}>()("customify/features/accounts/SessionsRepository") {}

interface LockedToken {
  readonly sessionId: string
  readonly userId: UserId
  readonly rotatedAt: Date | null
  readonly revokedAt: Date | null
  readonly idleExpiresAt: Date
  readonly absoluteExpiresAt: Date
  readonly role: Role
  readonly disabled: boolean
}

/** The decision of a refresh, shared by both layers: what the locked rows say to do. */
const decide = (found: LockedToken | undefined, rotation: Rotation) => {
  if (found === undefined || found.revokedAt !== null) return "unknown" as const
  if (found.idleExpiresAt <= rotation.now || found.absoluteExpiresAt <= rotation.now) return "unknown" as const
  if (found.disabled) return "disable" as const
  if (found.rotatedAt !== null && found.rotatedAt < rotation.graceStart) return "reuse" as const
  return "rotate" as const
}

const reasonOf = { disable: "account_disabled", reuse: "reuse" } as const

export const layerSql = Layer.effect(SessionsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  /**
   * Runs a revoking `UPDATE ... RETURNING id` and notifies every instance of each session it
   * revoked; PostgreSQL delivers the notifications when the transaction commits, never before.
   */
  const revoking = (update: Statement.Fragment) =>
    sql<{ id: string }>`
      WITH revoked AS (${update})
      SELECT id, pg_notify(${REVOKED_CHANNEL}, id) AS notified FROM revoked`.pipe(
      Effect.map((rows) => rows.map((row) => row.id))
    )

  const revokeNow = (sessionId: string, reason: RevocationReason, now: Date) =>
    revoking(sql`
      UPDATE sessions SET revoked_at = ${now}, revoked_reason = ${reason}
      WHERE id = ${sessionId} AND revoked_at IS NULL
      RETURNING id`)

  // Other instances' revocations, when this is a real PostgreSQL (an embedded one serves one
  // process, and its single connection cannot be held by a listener).
  const info = yield* Effect.serviceOption(DatabaseInfo)
  const pg = Option.filter(yield* Effect.serviceOption(PgClient.PgClient), () =>
    Option.isSome(info) && info.value.kind === "postgres")
  const listenRevoked = (handler: (sessionId: string) => Effect.Effect<void>) =>
    Option.match(pg, {
      onNone: () => Effect.void,
      onSome: (client) =>
        Effect.forkScoped(
          Effect.scoped(Effect.gen(function*() {
            const notifications = yield* client.listen(REVOKED_CHANNEL)
            yield* Effect.forever(Effect.flatMap(Queue.take(notifications), (notification) => handler(notification.payload)))
          })).pipe(
            Effect.catchCause((cause) => Effect.logWarning("sessions: revocation listener lost, listening again", cause)),
            Effect.andThen(Effect.sleep(Duration.seconds(1))),
            Effect.forever
          )
        ).pipe(Effect.asVoid)
    })

  const rotate = (rotation: Rotation) =>
    joinOrBegin(sql)(Effect.gen(function*() {
      // The session's row lock orders this refresh with every revocation of the session.
      const rows = yield* sql<LockedToken>`
        SELECT t.session_id, t.rotated_at, s.user_id, s.revoked_at, s.idle_expires_at, s.absolute_expires_at,
               u.role, u.disabled
        FROM refresh_tokens t
        JOIN sessions s ON s.id = t.session_id
        JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = ${rotation.presentedHash}
        FOR UPDATE OF s`
      const found = rows[0]
      const decision = decide(found, rotation)
      if (found === undefined || decision === "unknown") return { _tag: "Unknown" } as const
      if (decision === "disable" || decision === "reuse") {
        yield* revokeNow(found.sessionId, reasonOf[decision], rotation.now)
        return { _tag: decision === "reuse" ? "Reused" : "Disabled", sessionId: found.sessionId, userId: found.userId } as const
      }
      // A token rotated within the grace window gets the successor it got the first time.
      yield* sql`
        WITH successor AS (
          INSERT INTO refresh_tokens (token_hash, session_id, issued_at)
          VALUES (${rotation.successorHash}, ${found.sessionId}, ${rotation.now})
          ON CONFLICT (token_hash) DO NOTHING
        ), presented AS (
          UPDATE refresh_tokens SET rotated_at = ${rotation.now}
          WHERE token_hash = ${rotation.presentedHash} AND rotated_at IS NULL
        )
        UPDATE sessions
        SET last_used_at = ${rotation.now}, idle_expires_at = LEAST(${rotation.idleExpiresAt}, absolute_expires_at)
        WHERE id = ${found.sessionId}`
      return { _tag: "Rotated", sessionId: found.sessionId, userId: found.userId, role: found.role } as const
    })).pipe(orUnavailable)

  return SessionsRepository.of({
    create: (session) =>
      // FOR SHARE waits for a password reset, a password change or a ban in flight, then reads
      // the account as it committed. One statement: the session and its first token, or nothing.
      sql<{ role: Role }>`
        WITH account AS (
          SELECT id, role FROM users
          WHERE id = ${session.userId} AND password_hash = ${session.passwordHash} AND NOT disabled
          FOR SHARE
        ), started AS (
          INSERT INTO sessions (id, user_id, created_at, last_used_at, idle_expires_at, absolute_expires_at, client)
          SELECT ${session.id}, account.id, ${session.now}, ${session.now}, ${session.idleExpiresAt},
                 ${session.absoluteExpiresAt}, ${session.client}
          FROM account
          RETURNING id
        ), token AS (
          INSERT INTO refresh_tokens (token_hash, session_id, issued_at)
          SELECT ${session.tokenHash}, started.id, ${session.now} FROM started
        )
        SELECT account.role FROM account JOIN started ON true`.pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0]?.role)),
        orUnavailable
      ),
    rotate,
    lockOpen: (sessionId, now) =>
      sql`
        SELECT 1 FROM sessions
        WHERE id = ${sessionId} AND revoked_at IS NULL AND idle_expires_at > ${now} AND absolute_expires_at > ${now}
        FOR UPDATE`.pipe(Effect.map((rows) => rows.length > 0), orUnavailable),
    openUntil: (sessionId, now) =>
      sql<{ idleExpiresAt: Date }>`
        SELECT idle_expires_at FROM sessions
        WHERE id = ${sessionId} AND revoked_at IS NULL AND idle_expires_at > ${now} AND absolute_expires_at > ${now}`.pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0]?.idleExpiresAt)),
        orUnavailable
      ),
    revoke: (sessionId, userId, reason, now) =>
      revoking(sql`
        UPDATE sessions SET revoked_at = ${now}, revoked_reason = ${reason}
        WHERE id = ${sessionId} AND user_id = ${userId}
          AND revoked_at IS NULL AND idle_expires_at > ${now} AND absolute_expires_at > ${now}
        RETURNING id`).pipe(Effect.map((ids) => ids.length > 0), orUnavailable),
    listOpen: (userId, now) =>
      sql<OpenSession>`
        SELECT id, created_at, last_used_at, client FROM sessions
        WHERE user_id = ${userId} AND revoked_at IS NULL AND idle_expires_at > ${now} AND absolute_expires_at > ${now}
        ORDER BY last_used_at DESC, id
        LIMIT ${MAX_LISTED_SESSIONS}`.pipe(
        Effect.map((rows) => rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt), lastUsedAt: new Date(row.lastUsedAt) }))),
        orUnavailable
      ),
    revokeAllOf: (userId, reason, now, except) =>
      revoking(sql`
        UPDATE sessions SET revoked_at = ${now}, revoked_reason = ${reason}
        WHERE user_id = ${userId} AND revoked_at IS NULL ${except === undefined ? sql`` : sql`AND id <> ${except}`}
        RETURNING id`).pipe(orUnavailable),
    revokeBeyond: (userId, current, keep, now) =>
      revoking(sql`
        UPDATE sessions SET revoked_at = ${now}, revoked_reason = 'session_limit'
        WHERE id IN (
          SELECT id FROM sessions
          WHERE user_id = ${userId} AND id <> ${current}
            AND revoked_at IS NULL AND idle_expires_at > ${now} AND absolute_expires_at > ${now}
            -- Only sessions older than this one: two sign-ins at once never end each other.
            AND (created_at, id) < (SELECT created_at, id FROM sessions WHERE id = ${current})
          ORDER BY created_at DESC, id DESC
          OFFSET ${keep - 1}
        ) AND revoked_at IS NULL
        RETURNING id`).pipe(orUnavailable),
    listenRevoked,
    prune: (before) =>
      Effect.gen(function*() {
        let total = 0
        // Each way a session ends has its index; rotated tokens have theirs.
        for (
          const batch of [
            sql`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE absolute_expires_at < ${before} LIMIT ${PRUNE_BATCH}) RETURNING 1`,
            sql`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE idle_expires_at < ${before} LIMIT ${PRUNE_BATCH}) RETURNING 1`,
            sql`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE revoked_at < ${before} LIMIT ${PRUNE_BATCH}) RETURNING 1`,
            sql`DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM refresh_tokens WHERE rotated_at < ${before} LIMIT ${PRUNE_BATCH}) RETURNING 1`
          ]
        ) {
          for (;;) {
            const deleted = (yield* batch).length
            total += deleted
            if (deleted < PRUNE_BATCH) break
          }
        }
        return total
      }).pipe(orUnavailable)
  })
}))

interface StoredSession {
  readonly id: string
  readonly userId: UserId
  readonly createdAt: Date
  lastUsedAt: Date
  readonly client: string | null
  idleExpiresAt: Date
  readonly absoluteExpiresAt: Date
  revokedAt: Date | null
}

/**
 * The same rules in process memory, for unit tests: every operation runs without yielding, so
 * it is as atomic as the row lock it stands for.
 */
export const layerMemory = Layer.effect(SessionsRepository, Effect.gen(function*() {
  const accounts = yield* AccountsRepository
  const sessions = new Map<string, StoredSession>()
  const tokens = new Map<string, { readonly sessionId: string; rotatedAt: Date | null }>()
  const isOpen = (session: StoredSession, now: Date) =>
    session.revokedAt === null && session.idleExpiresAt > now && session.absoluteExpiresAt > now

  const revokeAllOf = (userId: UserId, now: Date, except?: string) =>
    [...sessions.values()]
      .filter((session) => session.userId === userId && session.revokedAt === null && session.id !== except)
      .map((session) => {
        session.revokedAt = now
        return session.id
      })

  return SessionsRepository.of({
    create: (session) =>
      Effect.map(accounts.findById(session.userId), (account) => {
        if (Option.isNone(account) || account.value.disabled || account.value.passwordHash !== session.passwordHash) {
          return Option.none()
        }
        sessions.set(session.id, { ...session, createdAt: session.now, lastUsedAt: session.now, revokedAt: null })
        tokens.set(session.tokenHash, { sessionId: session.id, rotatedAt: null })
        return Option.some(account.value.role)
      }),
    rotate: (rotation) =>
      Effect.gen(function*() {
        const token = tokens.get(rotation.presentedHash)
        const session = token === undefined ? undefined : sessions.get(token.sessionId)
        const account = session === undefined ? Option.none() : yield* accounts.findById(session.userId)
        const found = token === undefined || session === undefined || Option.isNone(account) ? undefined : {
          ...session,
          sessionId: session.id,
          rotatedAt: token.rotatedAt,
          role: account.value.role,
          disabled: account.value.disabled
        }
        const decision = decide(found, rotation)
        if (found === undefined || session === undefined || token === undefined || decision === "unknown") {
          return { _tag: "Unknown" } as const
        }
        if (decision !== "rotate") {
          session.revokedAt = rotation.now
          return { _tag: decision === "reuse" ? "Reused" : "Disabled", sessionId: session.id, userId: session.userId } as const
        }
        if (!tokens.has(rotation.successorHash)) tokens.set(rotation.successorHash, { sessionId: session.id, rotatedAt: null })
        token.rotatedAt ??= rotation.now
        session.lastUsedAt = rotation.now
        session.idleExpiresAt = rotation.idleExpiresAt < session.absoluteExpiresAt ? rotation.idleExpiresAt : session.absoluteExpiresAt
        return { _tag: "Rotated", sessionId: session.id, userId: session.userId, role: found.role } as const
      }),
    lockOpen: (sessionId, now) =>
      Effect.sync(() => {
        const session = sessions.get(sessionId)
        return session !== undefined && isOpen(session, now)
      }),
    openUntil: (sessionId, now) =>
      Effect.sync(() => {
        const session = sessions.get(sessionId)
        return session !== undefined && isOpen(session, now) ? Option.some(session.idleExpiresAt) : Option.none()
      }),
    revoke: (sessionId, userId, _reason, now) =>
      Effect.sync(() => {
        const session = sessions.get(sessionId)
        if (session === undefined || session.userId !== userId || !isOpen(session, now)) return false
        session.revokedAt = now
        return true
      }),
    listOpen: (userId, now) =>
      Effect.sync(() =>
        [...sessions.values()]
          .filter((session) => session.userId === userId && isOpen(session, now))
          .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime() || (a.id < b.id ? -1 : 1))
          .slice(0, MAX_LISTED_SESSIONS)
          .map(({ client, createdAt, id, lastUsedAt }) => ({ id, createdAt, lastUsedAt, client }))
      ),
    revokeAllOf: (userId, _reason, now, except) => Effect.sync(() => revokeAllOf(userId, now, except)),
    listenRevoked: () => Effect.void,
    revokeBeyond: (userId, current, keep, now) =>
      Effect.sync(() =>
        [...sessions.values()]
          .filter((session) => session.userId === userId && session.id !== current && isOpen(session, now))
          .reverse() // newest first: the map keeps insertion order
          .slice(keep - 1)
          .map((session) => {
            session.revokedAt = now
            return session.id
          })
      ),
    prune: (endedBefore) =>
      Effect.sync(() => {
        let pruned = 0
        for (const session of sessions.values()) {
          if (session.absoluteExpiresAt < endedBefore || session.idleExpiresAt < endedBefore || (session.revokedAt !== null && session.revokedAt < endedBefore)) {
            sessions.delete(session.id)
            pruned++
          }
        }
        for (const [hash, token] of tokens) {
          if (!sessions.has(token.sessionId) || (token.rotatedAt !== null && token.rotatedAt < endedBefore)) tokens.delete(hash)
        }
        return pruned
      })
  })
}))
