import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Password reset requests replace the reset tokens table. A request is named by its id in the
 * mail job; the worker mints the token and stores only its hash, so no token is ever at rest in
 * the clear (the old job payloads carried it: pending ones are dropped here).
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`DROP TABLE password_reset_tokens`
  yield* sql`
    CREATE TABLE password_reset_requests (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      requested_at timestamptz NOT NULL,
      token_hash text UNIQUE,
      expires_at timestamptz,
      used_at timestamptz
    )`
  yield* sql`CREATE INDEX password_reset_requests_user ON password_reset_requests (user_id, requested_at)`
  const queue = yield* sql<{ exists: boolean }>`SELECT to_regclass('job_queue') IS NOT NULL AS exists`
  if (queue[0]?.exists === true) {
    yield* sql`DELETE FROM job_queue WHERE element::text LIKE '%"email.password_reset"%'`
  }
})
