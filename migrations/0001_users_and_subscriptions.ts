import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Users, the plan catalogue and one subscription per user, and password reset tokens.
 * Emails are stored lower-cased (unique); reset tokens only as SHA-256 hashes.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY,
      email text NOT NULL UNIQUE CHECK (email = lower(email)),
      password_hash text NOT NULL,
      full_name text NOT NULL,
      avatar_url text,
      role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
      disabled boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  // Admin search filters by email prefix; keyset pagination walks emails in order.
  yield* sql`CREATE INDEX users_email_prefix ON users (email text_pattern_ops)`
  yield* sql`
    CREATE TABLE plans (
      id text PRIMARY KEY,
      name text NOT NULL,
      monthly_design_quota integer CHECK (monthly_design_quota IS NULL OR monthly_design_quota >= 0),
      sort_order integer NOT NULL
    )`
  yield* sql`
    INSERT INTO plans (id, name, monthly_design_quota, sort_order) VALUES
      ('free', 'Free', 10, 1),
      ('starter', 'Starter', 100, 2),
      ('pro', 'Pro', 1000, 3),
      ('enterprise', 'Enterprise', NULL, 4)`
  yield* sql`
    CREATE TABLE subscriptions (
      user_id uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
      plan_id text NOT NULL REFERENCES plans (id),
      status text NOT NULL CHECK (status IN ('active', 'past_due', 'canceled', 'incomplete')),
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`
  yield* sql`
    CREATE TABLE password_reset_tokens (
      token_hash text PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      created_at timestamptz NOT NULL
    )`
  yield* sql`CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id)`
})
