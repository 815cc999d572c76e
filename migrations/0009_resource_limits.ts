import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Indexes for the per-user limits: pending uploads counted per owner on every upload request
 * (PENDING_UPLOADS_PER_USER) and found by age by the housekeeping that removes expired ones;
 * render jobs counted per owner over the last hour (RENDER_JOBS_PER_HOUR). Pending rows are
 * few, so their indexes are partial.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX assets_pending_owner ON assets (owner_id) WHERE status = 'pending'`
  yield* sql`CREATE INDEX assets_pending_created ON assets (created_at) WHERE status = 'pending'`
  yield* sql`CREATE INDEX render_jobs_owner_created ON render_jobs (owner_id, created_at)`
})
