import { Context, Effect, Layer, Option } from "effect"
import { SqlClient } from "effect/sql"
import { type DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import { joinOrBegin } from "../../capabilities/database/Transactions.ts"
import type { UserId } from "../../domain/User.ts"
import { AccountsRepository } from "./AccountsRepository.ts"

/**
 * Password reset requests. A request is recorded by the API and named in the mail job; the
 * worker mints its token, and only the token's hash is ever stored. Only the newest request of
 * an account with a minted token can be confirmed, once, before it expires; confirming spends
 * every request of the account.
 */
export type MintOutcome =
  | { readonly _tag: "Minted"; readonly email: string }
  /** Superseded, spent, too old, or its account disabled: nothing to send, ever. */
  | { readonly _tag: "Skipped" }
  | { readonly _tag: "Absent" }

export class PasswordResetsRepository extends Context.Service<PasswordResetsRepository, {
  /**
   * Records a request unless the account already made `limit` since `since` (counted under the
   * account's row lock, so parallel requests cannot exceed it); answers whether it did.
   */
  readonly request: (
    request: { readonly id: string; readonly userId: UserId; readonly now: Date },
    limit: { readonly count: number; readonly since: Date }
  ) => Effect.Effect<boolean, DatabaseUnavailable>
  /**
   * Stores the token's hash on the request if it is still unspent, recent (after
   * `requestedAfter`), its account's newest and enabled; older links stop working. Answers the
   * address to mail; `Absent` when there is no such request (yet: a queue that delivers before
   * the commit, like SQS, can bring the job first).
   */
  readonly mint: (mint: {
    readonly requestId: string
    readonly tokenHash: string
    readonly expiresAt: Date
    readonly requestedAfter: Date
  }) => Effect.Effect<MintOutcome, DatabaseUnavailable>
  /** The account whose token this is, if it can be confirmed at `now`. */
  readonly find: (tokenHash: string, now: Date) => Effect.Effect<Option.Option<UserId>, DatabaseUnavailable>
  /** Spends the token and every other request of its account, if it can be confirmed at `now`. */
  readonly spend: (tokenHash: string, now: Date) => Effect.Effect<Option.Option<UserId>, DatabaseUnavailable>
  /** Spends every unspent request of the account (its password changed another way). */
  readonly spendAllOf: (userId: UserId, now: Date) => Effect.Effect<void, DatabaseUnavailable>
  /** Deletes requests made before `before`. */
  readonly prune: (before: Date) => Effect.Effect<number, DatabaseUnavailable>
}>()("customify/features/accounts/PasswordResetsRepository") {}

export const layerSql = Layer.effect(PasswordResetsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // The newest request of an enabled account, unspent, minted and unexpired.
  const confirmable = (tokenHash: string, now: Date) =>
    sql`
      r.token_hash = ${tokenHash} AND r.used_at IS NULL AND r.expires_at > ${now}
      AND EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id AND NOT u.disabled)`
  return PasswordResetsRepository.of({
    request: (request, limit) =>
      joinOrBegin(sql)(Effect.gen(function*() {
        const locked = yield* sql`SELECT 1 FROM users WHERE id = ${request.userId} FOR UPDATE`
        if (locked.length === 0) return false
        const recent = yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM password_reset_requests
          WHERE user_id = ${request.userId} AND requested_at > ${limit.since}`
        if ((recent[0]?.n ?? 0) >= limit.count) return false
        yield* sql`
          INSERT INTO password_reset_requests (id, user_id, requested_at)
          VALUES (${request.id}, ${request.userId}, ${request.now})`
        return true
      })).pipe(orUnavailable),
    mint: (mint) =>
      joinOrBegin(sql)(Effect.gen(function*() {
        const rows = yield* sql<{ email: string; userId: UserId }>`
          UPDATE password_reset_requests r SET token_hash = ${mint.tokenHash}, expires_at = ${mint.expiresAt}
          FROM users u
          WHERE r.id = ${mint.requestId} AND u.id = r.user_id AND NOT u.disabled
            AND r.used_at IS NULL AND r.requested_at > ${mint.requestedAfter}
            AND NOT EXISTS (
              SELECT 1 FROM password_reset_requests n
              WHERE n.user_id = r.user_id AND (n.requested_at, n.id) > (r.requested_at, r.id)
            )
          RETURNING u.email, u.id AS user_id`
        const minted = rows[0]
        if (minted === undefined) {
          const exists = yield* sql`SELECT 1 FROM password_reset_requests WHERE id = ${mint.requestId}`
          return exists.length > 0 ? { _tag: "Skipped" } as const : { _tag: "Absent" } as const
        }
        yield* sql`
          UPDATE password_reset_requests SET token_hash = NULL, expires_at = NULL
          WHERE user_id = ${minted.userId} AND id <> ${mint.requestId} AND token_hash IS NOT NULL`
        return { _tag: "Minted", email: minted.email } as const
      })).pipe(orUnavailable),
    find: (tokenHash, now) =>
      sql<{ userId: UserId }>`SELECT r.user_id FROM password_reset_requests r WHERE ${confirmable(tokenHash, now)}`.pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0]?.userId)),
        orUnavailable
      ),
    spend: (tokenHash, now) =>
      joinOrBegin(sql)(Effect.gen(function*() {
        const rows = yield* sql<{ userId: UserId }>`
          UPDATE password_reset_requests r SET used_at = ${now}
          WHERE ${confirmable(tokenHash, now)}
          RETURNING r.user_id`
        const userId = rows[0]?.userId
        if (userId === undefined) return Option.none<UserId>()
        yield* sql`UPDATE password_reset_requests SET used_at = ${now} WHERE user_id = ${userId} AND used_at IS NULL`
        return Option.some(userId)
      })).pipe(orUnavailable),
    spendAllOf: (userId, now) =>
      sql`UPDATE password_reset_requests SET used_at = ${now} WHERE user_id = ${userId} AND used_at IS NULL`.pipe(
        Effect.asVoid,
        orUnavailable
      ),
    prune: (before) =>
      sql`DELETE FROM password_reset_requests WHERE requested_at < ${before} RETURNING 1`.pipe(
        Effect.map((rows) => rows.length),
        orUnavailable
      )
  })
}))

interface StoredRequest {
  readonly id: string
  readonly userId: UserId
  readonly requestedAt: Date
  tokenHash: string | null
  expiresAt: Date | null
  usedAt: Date | null
}

/** The same rules in process memory, for unit tests. */
export const layerMemory = Layer.effect(PasswordResetsRepository, Effect.gen(function*() {
  const accounts = yield* AccountsRepository
  let requests: Array<StoredRequest> = []
  const ofUser = (userId: UserId) => requests.filter((request) => request.userId === userId)
  const enabled = (userId: UserId) =>
    Effect.map(accounts.findById(userId), Option.match({ onNone: () => undefined, onSome: (a) => a.disabled ? undefined : a }))
  const confirmable = (tokenHash: string, now: Date) =>
    Effect.gen(function*() {
      const request = requests.find((r) => r.tokenHash === tokenHash && r.usedAt === null && r.expiresAt !== null && r.expiresAt > now)
      return request !== undefined && (yield* enabled(request.userId)) !== undefined ? request : undefined
    })
  return PasswordResetsRepository.of({
    request: (request, limit) =>
      Effect.gen(function*() {
        if ((yield* accounts.findById(request.userId)).pipe(Option.isNone)) return false
        if (ofUser(request.userId).filter((r) => r.requestedAt > limit.since).length >= limit.count) return false
        requests.push({ ...request, requestedAt: request.now, tokenHash: null, expiresAt: null, usedAt: null })
        return true
      }),
    mint: (mint) =>
      Effect.gen(function*() {
        const request = requests.find((r) => r.id === mint.requestId)
        if (request === undefined) return { _tag: "Absent" } as const
        if (request.usedAt !== null || request.requestedAt <= mint.requestedAfter) return { _tag: "Skipped" } as const
        const newest = ofUser(request.userId).at(-1)
        const account = yield* enabled(request.userId)
        if (newest !== request || account === undefined) return { _tag: "Skipped" } as const
        for (const other of ofUser(request.userId)) {
          other.tokenHash = null
          other.expiresAt = null
        }
        request.tokenHash = mint.tokenHash
        request.expiresAt = mint.expiresAt
        return { _tag: "Minted", email: account.email } as const
      }),
    find: (tokenHash, now) => Effect.map(confirmable(tokenHash, now), (r) => Option.fromNullishOr(r?.userId)),
    spend: (tokenHash, now) =>
      Effect.map(confirmable(tokenHash, now), (request) => {
        if (request === undefined) return Option.none()
        for (const other of ofUser(request.userId)) other.usedAt ??= now
        return Option.some(request.userId)
      }),
    spendAllOf: (userId, now) =>
      Effect.sync(() => {
        for (const request of ofUser(userId)) request.usedAt ??= now
      }),
    prune: (before) =>
      Effect.sync(() => {
        const kept = requests.filter((request) => request.requestedAt >= before)
        const pruned = requests.length - kept.length
        requests = kept
        return pruned
      })
  })
}))
