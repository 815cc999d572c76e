import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Idempotency keys of creates (docs/decisions/0019-idempotent-creates.md), shared by every
 * instance. A row is in flight while `status` is null: `claim_token` names the request that holds
 * it until `leased_until` (after which a retry may take it over); once answered it keeps the
 * answer to replay until `expires_at`, when the worker's housekeeping deletes it.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE idempotency_keys (
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      key text NOT NULL,
      fingerprint text NOT NULL,
      claim_token text NOT NULL,
      leased_until timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      status integer,
      headers jsonb,
      body text,
      PRIMARY KEY (user_id, key)
    )`
  yield* sql`CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)`
})
