import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Shared building blocks of later migrations: an `updated_at` trigger function.
 * (gen_random_uuid() is built into PostgreSQL 13+, citext is not needed: emails are stored lower-cased.)
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger AS $$
    BEGIN
      NEW.updated_at = now();
      RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
  `
})
