import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * The product catalogue (printable areas in mm), designs (soft-deleted, versioned), the
 * per-month design counter that enforces quotas atomically, and orders written by the
 * integration layer.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE products (
      id text PRIMARY KEY,
      name text NOT NULL,
      printable_width_mm numeric(8, 2) NOT NULL CHECK (printable_width_mm > 0),
      printable_height_mm numeric(8, 2) NOT NULL CHECK (printable_height_mm > 0)
    )`
  yield* sql`
    INSERT INTO products (id, name, printable_width_mm, printable_height_mm) VALUES
      ('t-shirt', 'T-shirt', 300, 400),
      ('hoodie', 'Hoodie', 280, 350),
      ('mug', 'Mug', 200, 90),
      ('poster', 'Poster', 420, 594),
      ('phone-case', 'Phone case', 70, 140),
      ('tote-bag', 'Tote bag', 300, 350),
      ('sticker', 'Sticker', 100, 100)`
  yield* sql`
    CREATE TABLE designs (
      id uuid PRIMARY KEY,
      owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name text NOT NULL,
      product_type text NOT NULL REFERENCES products (id),
      status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'ready', 'archived')),
      document jsonb NOT NULL,
      version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      deleted_at timestamptz
    )`
  // The list endpoint walks a user's live designs newest first (keyset on created_at, id).
  yield* sql`
    CREATE INDEX designs_owner_newest ON designs (owner_id, created_at DESC, id DESC)
    WHERE deleted_at IS NULL`
  yield* sql`
    CREATE TABLE design_usage (
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      period_start date NOT NULL,
      designs_created integer NOT NULL CHECK (designs_created >= 0),
      PRIMARY KEY (user_id, period_start)
    )`
  yield* sql`
    CREATE TABLE orders (
      id uuid PRIMARY KEY,
      external_id text NOT NULL UNIQUE,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      design_id uuid REFERENCES designs (id) ON DELETE SET NULL,
      status text NOT NULL CHECK (status IN ('pending', 'paid', 'in_production', 'shipped', 'delivered', 'canceled', 'refunded')),
      quantity integer NOT NULL CHECK (quantity > 0),
      total_cents integer NOT NULL CHECK (total_cents >= 0),
      currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX orders_user_newest ON orders (user_id, created_at DESC, id DESC)`
})
