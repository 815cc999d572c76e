import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/** Render and PDF requests, whose progress the render engine and PDF workers report back. */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE render_jobs (
      id uuid PRIMARY KEY,
      owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      design_id uuid NOT NULL REFERENCES designs (id) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('render', 'pdf')),
      status text NOT NULL CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
      result_url text,
      error text,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX render_jobs_design ON render_jobs (design_id)`
})
