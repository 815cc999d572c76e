import { Clock, Context, Effect, Layer, Option, Ref } from "effect"
import { SqlClient, SqlError } from "effect/sql"
import { joinOrBegin } from "../../capabilities/database/Transactions.ts"
import type { Account, AdminChanges, NewAccount, ProfileChanges } from "../../domain/Account.ts"
import { EmailTaken } from "../../domain/AuthErrors.ts"
import type { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

export interface AccountPageRequest {
  readonly limit: number
  /** Strictly after this email (keyset pagination). */
  readonly afterEmail?: string | undefined
  readonly emailPrefix?: string | undefined
}

/**
 * Accounts, their subscription row and password reset tokens. Database faults are defects:
 * the request pipeline answers them with 503 (connection) or 500, never with internals.
 */
export class AccountsRepository extends Context.Service<AccountsRepository, {
  /** The account and its active subscription on `plan`, in one transaction. */
  readonly create: (account: NewAccount) => Effect.Effect<Account, EmailTaken | DatabaseUnavailable>
  readonly findByEmail: (email: string) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly findById: (id: UserId) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly updateProfile: (id: UserId, changes: ProfileChanges) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly updateAdminFields: (id: UserId, changes: AdminChanges) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly setPasswordHash: (id: UserId, passwordHash: string) => Effect.Effect<void, DatabaseUnavailable>
  /** Deletes the account and everything it owns (cascading), in one transaction. */
  readonly delete: (id: UserId) => Effect.Effect<boolean, DatabaseUnavailable>
  readonly list: (request: AccountPageRequest) => Effect.Effect<ReadonlyArray<Account>, DatabaseUnavailable>
  readonly createResetToken: (tokenHash: string, userId: UserId, expiresAt: Date) => Effect.Effect<void, DatabaseUnavailable>
  /** Marks the token used if it is unused and unexpired, atomically; returns its user. */
  readonly consumeResetToken: (tokenHash: string) => Effect.Effect<Option.Option<UserId>, DatabaseUnavailable>
}>()("customify/features/users/AccountsRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/** `%`, `_` and `\` in a user-supplied prefix match themselves, not patterns. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

const isUniqueViolation = (error: SqlError.SqlError) => error.reason._tag === "UniqueViolation"

export const layerSql = Layer.effect(AccountsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const one = (rows: ReadonlyArray<Account>) => Option.fromNullishOr(rows[0])

  const create = Effect.fn("AccountsRepository.create")(function*(account: NewAccount) {
    const at = yield* now
    return yield* joinOrBegin(sql)(Effect.gen(function*() {
      const [row] = yield* sql<Account>`
        INSERT INTO users ${sql.insert({
          id: account.id,
          email: account.email,
          passwordHash: account.passwordHash,
          fullName: account.fullName,
          role: "user",
          disabled: false,
          createdAt: at,
          updatedAt: at
        })} RETURNING *`
      yield* sql`
        INSERT INTO subscriptions ${sql.insert({
          userId: account.id,
          planId: account.plan,
          status: "active",
          createdAt: at,
          updatedAt: at
        })}`
      return row!
    })).pipe(
      Effect.catchIf(isUniqueViolation, () => Effect.fail(new EmailTaken())),
      orUnavailable
    )
  })

  const updateWith = (id: UserId, changes: Record<string, unknown>) =>
    Effect.gen(function*() {
      const at = yield* now
      return one(yield* sql<Account>`UPDATE users SET ${sql.update({ ...changes, updatedAt: at })} WHERE id = ${id} RETURNING *`)
    }).pipe(orUnavailable)

  return AccountsRepository.of({
    create,
    findByEmail: (email) => sql<Account>`SELECT * FROM users WHERE email = ${email}`.pipe(Effect.map(one), orUnavailable),
    findById: (id) => sql<Account>`SELECT * FROM users WHERE id = ${id}`.pipe(Effect.map(one), orUnavailable),
    updateProfile: (id, changes) => updateWith(id, { ...changes }),
    updateAdminFields: (id, changes) => updateWith(id, { ...changes }),
    setPasswordHash: (id, passwordHash) => Effect.asVoid(updateWith(id, { passwordHash })),
    delete: (id) =>
      joinOrBegin(sql)(
        sql`DELETE FROM users WHERE id = ${id} RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))
      ).pipe(orUnavailable),
    list: ({ afterEmail, emailPrefix, limit }) => {
      const conditions = [
        ...(emailPrefix === undefined ? [] : [sql`email LIKE ${likePrefix(emailPrefix)}`]),
        ...(afterEmail === undefined ? [] : [sql`email COLLATE "C" > ${afterEmail}`])
      ]
      return sql<Account>`
        SELECT * FROM users ${conditions.length === 0 ? sql`` : sql`WHERE ${sql.and(conditions)}`}
        ORDER BY email COLLATE "C" LIMIT ${limit}`.pipe(orUnavailable)
    },
    createResetToken: (tokenHash, userId, expiresAt) =>
      Effect.flatMap(now, (at) =>
        sql`INSERT INTO password_reset_tokens ${sql.insert({ tokenHash, userId, expiresAt, createdAt: at })}`).pipe(
        Effect.asVoid,
        orUnavailable
      ),
    consumeResetToken: (tokenHash) =>
      Effect.flatMap(now, (at) =>
        sql<{ userId: UserId }>`
          UPDATE password_reset_tokens SET used_at = ${at}
          WHERE token_hash = ${tokenHash} AND used_at IS NULL AND expires_at > ${at}
          RETURNING user_id`).pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0]?.userId)),
        orUnavailable
      )
  })
}))

/** The same contract in process memory, for unit tests of the use cases. */
export const layerMemory = Layer.effect(AccountsRepository, Effect.gen(function*() {
  const accounts = yield* Ref.make(new Map<UserId, Account>())
  const resetTokens = yield* Ref.make(new Map<string, { userId: UserId; expiresAt: Date; usedAt: Date | null }>())
  const find = (predicate: (account: Account) => boolean) =>
    Effect.map(Ref.get(accounts), (all) => Option.fromNullishOr([...all.values()].find(predicate)))
  const update = (id: UserId, changes: Partial<Account>) =>
    Effect.gen(function*() {
      const at = yield* now
      const all = yield* Ref.get(accounts)
      const current = all.get(id)
      if (current === undefined) return Option.none<Account>()
      const next = { ...current, ...changes, updatedAt: at }
      all.set(id, next)
      return Option.some(next)
    })
  return AccountsRepository.of({
    create: (account) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(accounts)
        if ([...all.values()].some((a) => a.email === account.email)) return yield* new EmailTaken()
        const created: Account = {
          id: account.id,
          email: account.email,
          passwordHash: account.passwordHash,
          fullName: account.fullName,
          avatarUrl: null,
          role: "user",
          disabled: false,
          createdAt: at,
          updatedAt: at
        }
        all.set(account.id, created)
        return created
      }),
    findByEmail: (email) => find((a) => a.email === email),
    findById: (id) => find((a) => a.id === id),
    updateProfile: (id, changes) => update(id, changes),
    updateAdminFields: (id, changes) => update(id, changes),
    setPasswordHash: (id, passwordHash) => Effect.asVoid(update(id, { passwordHash })),
    delete: (id) => Effect.map(Ref.get(accounts), (all) => all.delete(id)),
    list: ({ afterEmail, emailPrefix, limit }) =>
      Effect.map(Ref.get(accounts), (all) =>
        [...all.values()]
          .filter((a) => emailPrefix === undefined || a.email.startsWith(emailPrefix))
          .filter((a) => afterEmail === undefined || a.email > afterEmail)
          .sort((a, b) => (a.email < b.email ? -1 : 1))
          .slice(0, limit)),
    createResetToken: (tokenHash, userId, expiresAt) =>
      Effect.map(Ref.get(resetTokens), (all) => void all.set(tokenHash, { userId, expiresAt, usedAt: null })),
    consumeResetToken: (tokenHash) =>
      Effect.gen(function*() {
        const at = yield* now
        const entry = (yield* Ref.get(resetTokens)).get(tokenHash)
        if (entry === undefined || entry.usedAt !== null || entry.expiresAt <= at) return Option.none()
        entry.usedAt = at
        return Option.some(entry.userId)
      })
  })
}))
