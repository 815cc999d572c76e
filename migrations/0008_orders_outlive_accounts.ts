import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Orders are financial records the integration layer keeps updating: deleting an account
 * detaches its orders (owner cleared) instead of deleting them.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE orders ALTER COLUMN user_id DROP NOT NULL`
  yield* sql`ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey`
  yield* sql`ALTER TABLE orders ADD CONSTRAINT orders_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL`
})
