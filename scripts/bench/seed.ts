/**
 * Seeding: users through the API (register, then the enterprise plan through the internal
 * subscriptions route with a service key), designs in bulk through SQL, then a preflight that
 * sends one request of each kind, so a broken body fails the bench before any load.
 */
import { BENCH_PASSWORD, createBody, designDocument, patchBody } from "./fixtures.ts"
import { type DesignRef, type PatchTarget, Tokens } from "./scenarios.ts"
import type { Database } from "./sql.ts"

export const call = async <A = unknown>(
  base: string,
  method: string,
  path: string,
  options: { readonly body?: unknown; readonly token?: string; readonly headers?: Record<string, string>; readonly expect?: number } = {}
): Promise<A> => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...options.headers
    },
    ...(options.body === undefined ? {} : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(60_000)
  })
  const text = await response.text()
  const expected = options.expect ?? (response.status >= 200 && response.status < 300 ? response.status : 200)
  if (response.status !== expected) throw new Error(`${method} ${path}: expected ${expected}, got ${response.status}: ${text.slice(0, 500)}`)
  return (text.length === 0 ? undefined : JSON.parse(text)) as A
}

interface SignedIn {
  readonly user: { readonly id: string }
  readonly tokens: { readonly accessToken: string }
}

export interface BenchUser {
  readonly id: string
  readonly email: string
}

export interface Seeded {
  readonly users: ReadonlyArray<BenchUser>
  readonly tokens: Tokens
  /** Who the login storm signs in as (free plan, no designs). */
  readonly loginEmails: ReadonlyArray<string>
  /** Scenario 2's designs: read once, so cached. */
  readonly hot: ReadonlyArray<DesignRef>
  /** Scenario 5's designs, disjoint from `hot`. */
  readonly patchable: ReadonlyArray<PatchTarget>
  readonly designs: number
}

/** Logs every user in again (a soak outlives the 1-hour access tokens). */
export const renewTokens = async (base: string, users: ReadonlyArray<BenchUser>, tokens: Tokens) => {
  await Promise.all(users.map(async (user) => {
    const signedIn = await call<SignedIn>(base, "POST", "/api/v1/auth/login", { body: { email: user.email, password: BENCH_PASSWORD } })
    tokens.set(user.id, signedIn.tokens.accessToken)
  }))
}

export const seed = async (options: {
  readonly api: string
  readonly db: Database
  readonly serviceKey: string
  readonly runId: string
  readonly users: number
  readonly loginUsers: number
  readonly designs: number
  readonly hotPerUser: number
  readonly patchable: number
}): Promise<Seeded> => {
  const { api, db } = options
  const register = (email: string) =>
    call<SignedIn>(api, "POST", "/api/v1/auth/register", {
      body: { email, password: BENCH_PASSWORD, fullName: "Bench User" },
      expect: 201
    })
  const loginEmails = Array.from({ length: options.loginUsers }, (_, i) => `bench-${options.runId}-login-${i}@example.com`)
  const emails = Array.from({ length: options.users }, (_, i) => `bench-${options.runId}-${i}@example.com`)
  const [registered] = await Promise.all([Promise.all(emails.map(register)), Promise.all(loginEmails.map(register))])
  const tokens = new Tokens()
  const users = registered.map((signedIn, i) => {
    tokens.set(signedIn.user.id, signedIn.tokens.accessToken)
    return { id: signedIn.user.id, email: emails[i]! }
  })
  await Promise.all(users.map((user) =>
    call(api, "PUT", `/api/v1/internal/subscriptions/${user.id}`, {
      body: { plan: "enterprise", status: "active" },
      headers: { "x-service-key": options.serviceKey }
    })
  ))
  const subscription = await call<{ plan: string; status: string }>(api, "GET", "/api/v1/subscriptions/me", {
    token: tokens.get(users[0]!.id)
  })
  if (subscription.plan !== "enterprise" || subscription.status !== "active") {
    throw new Error(`seed: expected an active enterprise plan, got ${JSON.stringify(subscription)}`)
  }

  const perUser = Math.max(1, Math.ceil(options.designs / users.length))
  const document = JSON.stringify(designDocument(0))
  const byUser = await Promise.all(users.map((user) =>
    db.run(db.sql<{ id: string }>`
      INSERT INTO designs (id, owner_id, name, product_type, status, document, version, created_at, updated_at)
      SELECT gen_random_uuid(), ${user.id}::uuid, 'Seed design ' || g, 't-shirt', 'draft', ${document}::jsonb, 1,
             now() - g * interval '1 second', now() - g * interval '1 second'
      FROM generate_series(1, ${perUser}::int) AS g
      RETURNING id`).then((rows) => rows.map((row) => ({ id: row.id, ownerId: user.id })))
  ))
  await db.run(db.sql`ANALYZE designs`)

  const hot = byUser.flatMap((designs) => designs.slice(0, options.hotPerUser))
  const rest = byUser.map((designs) => designs.slice(options.hotPerUser))
  const patchable: Array<PatchTarget> = []
  for (let i = 0; patchable.length < options.patchable && rest.some((designs) => i < designs.length); i++) {
    for (const designs of rest) {
      const design = designs[i]
      if (design !== undefined && patchable.length < options.patchable) patchable.push({ ...design, version: 1 })
    }
  }
  // Read once: scenario 2 measures cache hits.
  for (const design of hot) {
    await call(api, "GET", `/api/v1/designs/${design.id}`, { token: tokens.get(design.ownerId) })
  }
  return { users, tokens, loginEmails, hot, patchable, designs: perUser * users.length }
}

/** One request of each kind the scenarios send, against the API and the baseline. */
export const preflight = async (options: {
  readonly api: string
  readonly baseline: string
  readonly seeded: Seeded
}) => {
  const { api, baseline, seeded } = options
  const user = seeded.users[0]!
  const token = seeded.tokens.get(user.id)
  const hot = seeded.hot[0]!
  const hotToken = seeded.tokens.get(hot.ownerId)
  await call(api, "GET", "/health")
  const fromApi = await call<{ id: string; version: number }>(api, "GET", `/api/v1/designs/${hot.id}`, { token: hotToken })
  const fromBaseline = await call<{ id: string; version: number }>(baseline, "GET", `/api/v1/designs/${hot.id}`, { token: hotToken })
  if (fromApi.id !== fromBaseline.id || fromApi.version !== fromBaseline.version) {
    throw new Error("preflight: the baseline's cached design differs from the API's")
  }
  await call(api, "GET", "/api/v1/designs?limit=20", { token })
  const created = await call<{ id: string; version: number }>(api, "POST", "/api/v1/designs", { body: createBody(0), token, expect: 201 })
  await call(baseline, "POST", "/api/v1/designs", { body: createBody(0), token, expect: 201 })
  await call(api, "PATCH", `/api/v1/designs/${created.id}`, {
    body: patchBody(0),
    token,
    headers: { "if-match": `"${created.version}"` }
  })
  await call(api, "PATCH", `/api/v1/designs/${created.id}`, {
    body: patchBody(0),
    token,
    headers: { "if-match": `"${created.version}"` },
    expect: 409
  })
  for (const email of seeded.loginEmails) {
    await call(api, "POST", "/api/v1/auth/login", { body: { email, password: BENCH_PASSWORD } })
  }
}
