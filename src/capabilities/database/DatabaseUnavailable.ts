import { Data, Effect, Schema } from "effect"
import { SqlError } from "effect/sql"

/**
 * The database cannot serve the statement now: unreachable, refusing connections, shutting
 * down, or a transient conflict (deadlock, serialization failure, lock or statement timeout)
 * that a retry may clear. An outage to wait out (503), never a bug.
 */
export class DatabaseUnavailable extends Data.TaggedError("DatabaseUnavailable")<{ readonly cause: unknown }> {}

/** SQLSTATE classes PostgreSQL uses for a server going away or out of resources. */
const OUTAGE_STATES = /^(?:08|53|57P)/

const sqlState = (error: SqlError.SqlError): string | undefined => {
  const cause = error.reason.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : undefined
}

/**
 * Whether a failed statement is an outage (typed, 503) rather than a programming error. Refused
 * credentials count: a rotated password is an operator's outage, not a client's fault.
 */
export const isOutage = (error: SqlError.SqlError): boolean =>
  error.isRetryable || error.reason._tag === "AuthenticationError" || OUTAGE_STATES.test(sqlState(error) ?? "")

/**
 * A repository's failures: outages as `DatabaseUnavailable` in the error channel; anything else
 * stays a defect (bad SQL, a violated constraint the code should have prevented, a row that does
 * not decode or a value that does not encode: the table and the schema disagree).
 */
export const orUnavailable = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError.SqlError | Schema.SchemaError, R>
): Effect.Effect<A, Exclude<E, SqlError.SqlError | Schema.SchemaError> | DatabaseUnavailable, R> =>
  Effect.catchIf(
    effect,
    (error): error is SqlError.SqlError | Schema.SchemaError => SqlError.isSqlError(error) || Schema.isSchemaError(error),
    (error) =>
      SqlError.isSqlError(error) && isOutage(error) ? Effect.fail(new DatabaseUnavailable({ cause: error })) : Effect.die(error)
  ) as Effect.Effect<A, Exclude<E, SqlError.SqlError | Schema.SchemaError> | DatabaseUnavailable, R>

/**
 * Whether a failed statement broke a foreign key whose name matches `constraint` (e.g. a row of
 * a user deleted meanwhile: the request lost a race, it is not a bug).
 */
export const violatesForeignKey = (error: unknown, constraint: RegExp): boolean => {
  if (!SqlError.isSqlError(error) || sqlState(error) !== "23503") return false
  const name = (error.reason.cause as { readonly constraint?: unknown } | undefined)?.constraint
  return typeof name === "string" && constraint.test(name)
}
