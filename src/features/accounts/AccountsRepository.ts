import { Clock, Context, Effect, Layer, Option, Ref, Schema, Struct } from "effect"
import { SqlClient, SqlError, SqlSchema } from "effect/sql"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { joinOrBegin } from "../../capabilities/database/Transactions.ts"
import { Account, type AdminChanges, type NewAccount, type ProfileChanges } from "../../domain/Account.ts"
import { EmailTaken } from "../../domain/AuthErrors.ts"
import { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

export const AccountPageRequest = Schema.Struct({
  limit: Schema.Int,
  /** Strictly after this email (keyset pagination). */
  afterEmail: Schema.optional(Schema.String),
  emailPrefix: Schema.optional(Schema.String)
})
export type AccountPageRequest = typeof AccountPageRequest.Type

/**
 * Accounts and their subscription row. Outages fail with
 * `DatabaseUnavailable`; any other database fault, and a row that does not decode, is a defect.
 */
export class AccountsRepository extends Context.Service<AccountsRepository, {
  /** The account and its active subscription on `plan`, in one transaction. */
  readonly create: (account: NewAccount) => Effect.Effect<Account, EmailTaken | DatabaseUnavailable>
  readonly findByEmail: (email: string) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly findById: (id: UserId) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly updateProfile: (id: UserId, changes: ProfileChanges) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly updateAdminFields: (id: UserId, changes: AdminChanges) => Effect.Effect<Option.Option<Account>, DatabaseUnavailable>
  readonly setPasswordHash: (id: UserId, passwordHash: string) => Effect.Effect<void, DatabaseUnavailable>
  /**
   * Locks the account's row for the caller's transaction if its password is still the one just
   * verified; false when it changed meanwhile (a reset, another change) or the account is gone.
   */
  readonly lockWithPassword: (id: UserId, passwordHash: string) => Effect.Effect<boolean, DatabaseUnavailable>
  /** Deletes the account and everything it owns (cascading), in one transaction. */
  readonly delete: (id: UserId) => Effect.Effect<boolean, DatabaseUnavailable>
  readonly list: (request: AccountPageRequest) => Effect.Effect<ReadonlyArray<Account>, DatabaseUnavailable>
}>()("customify/features/users/AccountsRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/** A registered account: role user, enabled, no avatar yet. Checked by the schema. */
const newAccount = (account: NewAccount, at: Date) =>
  Account.make({ ...Struct.omit(account, ["plan"]), avatarUrl: null, role: "user", disabled: false, createdAt: at, updatedAt: at })

/** An update: the account, the time, and the columns that change. */
const AccountUpdate = Account.mapFields((fields) => ({
  ...Struct.pick(fields, ["id", "updatedAt"]),
  ...Struct.map(Struct.pick(fields, ["passwordHash", "fullName", "avatarUrl", "role", "disabled"]), Schema.optionalKey)
}))
type AccountChanges = Omit<typeof AccountUpdate.Type, "id" | "updatedAt">

/** `%`, `_` and `\` in a user-supplied prefix match themselves, not patterns. */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`

const isUniqueViolation = (error: unknown) => SqlError.isSqlError(error) && error.reason._tag === "UniqueViolation"

export const layerSql = Layer.effect(AccountsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const insert = SqlSchema.void({
    Request: Account,
    execute: (row) => sql`INSERT INTO users ${sql.insert(row)}`
  })
  const findByEmail = StoredRows.findOneOption({
    Request: Schema.String,
    Result: Account,
    execute: (email) => sql`SELECT * FROM users WHERE email = ${email}`
  })
  const findById = StoredRows.findOneOption({
    Request: UserId,
    Result: Account,
    execute: (id) => sql`SELECT * FROM users WHERE id = ${id}`
  })
  const update = StoredRows.findOneOption({
    Request: AccountUpdate,
    Result: Account,
    execute: (row) => sql`UPDATE users SET ${sql.update(row, ["id"])} WHERE id = ${row.id} RETURNING *`
  })
  const list = StoredRows.findAll({
    Request: AccountPageRequest,
    Result: Account,
    execute: ({ afterEmail, emailPrefix, limit }) => {
      const conditions = [
        ...(emailPrefix === undefined ? [] : [sql`email LIKE ${likePrefix(emailPrefix)}`]),
        ...(afterEmail === undefined ? [] : [sql`email COLLATE "C" > ${afterEmail}`])
      ]
      return sql`
        SELECT * FROM users ${conditions.length === 0 ? sql`` : sql`WHERE ${sql.and(conditions)}`}
        ORDER BY email COLLATE "C" LIMIT ${limit}`
    }
  })

  const create = Effect.fn("AccountsRepository.create")(function*(account: NewAccount) {
    const at = yield* now
    const created = newAccount(account, at)
    yield* joinOrBegin(sql)(Effect.andThen(
      insert(created),
      sql`
        INSERT INTO subscriptions ${sql.insert({
          userId: account.id,
          planId: account.plan,
          status: "active",
          createdAt: at,
          updatedAt: at
        })}`
    )).pipe(
      Effect.catchIf(isUniqueViolation, () => Effect.fail(new EmailTaken())),
      orUnavailable
    )
    return created
  })

  const updateWith = (id: UserId, changes: AccountChanges) =>
    Effect.flatMap(now, (updatedAt) => update({ ...changes, id, updatedAt })).pipe(orUnavailable)

  return AccountsRepository.of({
    create,
    findByEmail: (email) => findByEmail(email).pipe(orUnavailable),
    findById: (id) => findById(id).pipe(orUnavailable),
    updateProfile: updateWith,
    updateAdminFields: updateWith,
    setPasswordHash: (id, passwordHash) => Effect.asVoid(updateWith(id, { passwordHash })),
    lockWithPassword: (id, passwordHash) =>
      sql`SELECT 1 FROM users WHERE id = ${id} AND password_hash = ${passwordHash} FOR UPDATE`.pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable
      ),
    delete: (id) =>
      joinOrBegin(sql)(
        sql`DELETE FROM users WHERE id = ${id} RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))
      ).pipe(orUnavailable),
    list: (request) => list(request).pipe(orUnavailable)
  })
}))

/** The same contract in process memory, for unit tests of the use cases. */
export const layerMemory = Layer.effect(AccountsRepository, Effect.gen(function*() {
  const accounts = yield* Ref.make(new Map<UserId, Account>())
  const find = (predicate: (account: Account) => boolean) =>
    Effect.map(Ref.get(accounts), (all) => Option.fromNullishOr([...all.values()].find(predicate)))
  const update = (id: UserId, changes: AccountChanges) =>
    Effect.gen(function*() {
      const at = yield* now
      const all = yield* Ref.get(accounts)
      const current = all.get(id)
      if (current === undefined) return Option.none<Account>()
      const next: Account = { ...current, ...changes, updatedAt: at }
      all.set(id, next)
      return Option.some(next)
    })
  return AccountsRepository.of({
    create: (account) =>
      Effect.gen(function*() {
        const all = yield* Ref.get(accounts)
        if ([...all.values()].some((a) => a.email === account.email)) return yield* new EmailTaken()
        const created = newAccount(account, yield* now)
        all.set(account.id, created)
        return created
      }),
    findByEmail: (email) => find((a) => a.email === email),
    findById: (id) => find((a) => a.id === id),
    updateProfile: update,
    updateAdminFields: update,
    setPasswordHash: (id, passwordHash) => Effect.asVoid(update(id, { passwordHash })),
    lockWithPassword: (id, passwordHash) => Effect.map(find((a) => a.id === id), (found) => Option.isSome(found) && found.value.passwordHash === passwordHash),
    delete: (id) => Effect.map(Ref.get(accounts), (all) => all.delete(id)),
    list: ({ afterEmail, emailPrefix, limit }) =>
      Effect.map(Ref.get(accounts), (all) =>
        [...all.values()]
          .filter((a) => emailPrefix === undefined || a.email.startsWith(emailPrefix))
          .filter((a) => afterEmail === undefined || a.email > afterEmail)
          .sort((a, b) => (a.email < b.email ? -1 : 1))
          .slice(0, limit))
  })
}))
