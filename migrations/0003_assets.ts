import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Uploaded files (images for design layers). The bytes live in storage under `key`; a row is
 * `pending` from the moment an upload URL is handed out until the stored object has been
 * checked against the declared size and type (`complete`). Deleting a user or a design row
 * removes its rows; the account cleanup job removes the objects.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE assets (
      id uuid PRIMARY KEY,
      owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      design_id uuid NOT NULL REFERENCES designs (id) ON DELETE CASCADE,
      key text NOT NULL UNIQUE,
      file_name text NOT NULL,
      content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp', 'image/svg+xml')),
      byte_size bigint NOT NULL CHECK (byte_size > 0),
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'complete')),
      created_at timestamptz NOT NULL,
      completed_at timestamptz,
      CHECK ((status = 'complete') = (completed_at IS NOT NULL))
    )`
  yield* sql`CREATE INDEX assets_design ON assets (design_id)`
})
