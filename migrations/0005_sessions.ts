import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Sessions and their refresh tokens: the source of truth for who is signed in (Redis only
 * caches liveness). Refresh tokens are stored as SHA-256 hashes with their rotation state; a
 * session's row is locked by every refresh and revocation, so the two serialize.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE sessions (
      id text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL,
      last_used_at timestamptz NOT NULL,
      idle_expires_at timestamptz NOT NULL,
      absolute_expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      revoked_reason text,
      client text
    )`
  // "End every session of this user" and the device list read a user's open sessions.
  yield* sql`CREATE INDEX sessions_user_open ON sessions (user_id) WHERE revoked_at IS NULL`
  // Pruning finds ended sessions by each way they end, and rotated tokens by their rotation.
  yield* sql`CREATE INDEX sessions_absolute_expiry ON sessions (absolute_expires_at)`
  yield* sql`CREATE INDEX sessions_idle_expiry ON sessions (idle_expires_at)`
  yield* sql`CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL`
  yield* sql`
    CREATE TABLE refresh_tokens (
      token_hash text PRIMARY KEY,
      session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      issued_at timestamptz NOT NULL,
      rotated_at timestamptz
    )`
  yield* sql`CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)`
  yield* sql`CREATE INDEX refresh_tokens_rotated ON refresh_tokens (rotated_at) WHERE rotated_at IS NOT NULL`
})
