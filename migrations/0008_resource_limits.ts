import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Indexes for the per-user limits: pending uploads counted per owner on every upload request
 * (PENDING_UPLOADS_PER_USER). Pending rows are few, so the index is partial.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX assets_pending_owner ON assets (owner_id) WHERE status = 'pending'`
})
