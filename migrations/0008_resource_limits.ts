import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Indexes for the per-user limits: pending uploads counted per owner on every upload request
 * (PENDING_UPLOADS_PER_USER) and found by age by the housekeeping that removes expired ones.
 * Pending rows are few, so the indexes are partial.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX assets_pending_owner ON assets (owner_id) WHERE status = 'pending'`
  yield* sql`CREATE INDEX assets_pending_created ON assets (created_at) WHERE status = 'pending'`
})
