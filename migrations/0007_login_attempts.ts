import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Sign-in throttling (docs/decisions/0014-login-throttling.md): counters of attempts per email
 * and address ("pair") and per email ("account"), each in a fixed window, and the networks each
 * email signed in from recently. Keys are keyed hashes (HMAC-SHA256) of the email and address,
 * never the email or address themselves. Expired rows are deleted by `LoginThrottle.prune`.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE login_attempts (
      key text PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('pair', 'account')),
      failures integer NOT NULL CHECK (failures >= 0),
      window_start timestamptz NOT NULL
    )`
  // Pruning deletes the rows whose window has passed.
  yield* sql`CREATE INDEX login_attempts_window_start ON login_attempts (window_start)`
  yield* sql`
    CREATE TABLE login_known_networks (
      key text PRIMARY KEY,
      last_success_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX login_known_networks_last_success ON login_known_networks (last_success_at)`
})
