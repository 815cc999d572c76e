import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Schema } from "effect"
import { SqlError } from "effect/sql"
import { orUnavailable } from "../../src/capabilities/database/DatabaseUnavailable.ts"

const failing = (reason: SqlError.SqlErrorReason) => Effect.fail(new SqlError.SqlError({ reason }))
const props = (code?: string) => ({
  cause: Object.assign(new Error("from the server"), code === undefined ? {} : { code }),
  message: "failed",
  operation: "query"
})

describe("orUnavailable", () => {
  it.effect("types outages as DatabaseUnavailable: unreachable, shutting down, out of connections, transient conflicts", () =>
    Effect.gen(function*() {
      const reasons = [
        new SqlError.ConnectionError(props()),
        new SqlError.AuthenticationError(props("28P01")),
        new SqlError.DeadlockError(props("40P01")),
        new SqlError.SerializationError(props("40001")),
        new SqlError.StatementTimeoutError(props("57014")),
        new SqlError.UnknownError(props("57P01")), // admin_shutdown: the server is stopping
        new SqlError.UnknownError(props("53300")) // too_many_connections
      ]
      for (const reason of reasons) {
        const error = yield* Effect.flip(orUnavailable(failing(reason)))
        expect(error._tag, reason._tag).toBe("DatabaseUnavailable")
      }
    }))

  it.effect("leaves programming errors as defects (500), never a 503 that invites a retry", () =>
    Effect.gen(function*() {
      const reasons = [
        new SqlError.SqlSyntaxError(props("42601")),
        new SqlError.UniqueViolation({ ...props("23505"), constraint: "users_email_key" }),
        new SqlError.ConstraintError(props("23503")),
        new SqlError.UnknownError(props("XX000"))
      ]
      for (const reason of reasons) {
        const exit = yield* Effect.exit(orUnavailable(failing(reason)))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause), reason._tag).toBe(true)
      }
    }))

  it.effect("leaves a row that does not decode a defect: the table and the schema disagree", () =>
    Effect.gen(function*() {
      const row = Schema.decodeUnknownEffect(Schema.Struct({ id: Schema.String }))({ id: 42 })
      const exit = yield* Effect.exit(orUnavailable(row))
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
    }))
})
