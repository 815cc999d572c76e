import { Context, Effect, Layer, Option } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { DatabaseUnavailable, orUnavailable } from "./DatabaseUnavailable.ts"

/**
 * Units of work that span repositories and the job queue. Jobs offered to the PostgreSQL queue
 * inside `atomically` commit with the rows that need them (a crash cannot keep one without the
 * other); other queues (SQS) send during the transaction, so a failed send undoes the write and
 * a failed commit leaves at most a message about rows that do not exist, which workers skip.
 */
export class Transactions extends Context.Service<Transactions, {
  readonly atomically: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DatabaseUnavailable, R>
}>()("customify/capabilities/database/Transactions") {}

/**
 * Runs `effect` in the transaction already open on this fiber, or in a new one: a repository
 * method that must be atomic on its own joins its caller's unit of work without a savepoint.
 */
export const joinOrBegin = (sql: SqlClient.SqlClient) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError.SqlError, R> =>
  Effect.flatMap(
    Effect.serviceOption(sql.transactionService),
    Option.match({ onSome: () => effect, onNone: () => sql.withTransaction(effect) })
  )

/**
 * A transaction that cannot begin or commit for want of a database is `DatabaseUnavailable`
 * like any statement. Nested, `atomically` is a savepoint: its failure undoes only its own
 * statements.
 */
export const layerSql = Layer.effect(
  Transactions,
  Effect.map(Effect.service(SqlClient.SqlClient), (sql) =>
    Transactions.of({
      atomically: <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        orUnavailable(sql.withTransaction(effect) as Effect.Effect<A, E | SqlError.SqlError, R>) as Effect.Effect<
          A,
          E | DatabaseUnavailable,
          R
        >
    }))
)

/** No atomicity, for use cases run on in-memory repositories. */
export const layerMemory = Layer.succeed(Transactions, Transactions.of({ atomically: (effect) => effect }))
