import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { client, uniqueEmail, validDocument } from "../support/http.ts"

const SERVICE_KEY = "s".repeat(40)
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
let databaseUrl: string
const call = client(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config: { serviceApiKeys: [Redacted.make(SERVICE_KEY)] } })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const query = <A extends object>(statement: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.unsafe<A>(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

const signUp = async () => {
  const result = await call("POST", "/api/v1/auth/register", { body: { email: uniqueEmail(), password: "correct horse battery", fullName: "Designer" } })
  expect(result.status).toBe(201)
  return { id: result.body.user.id as string, token: result.body.tokens.accessToken as string }
}

const create = (token: string, overrides: Record<string, unknown> = {}) =>
  call("POST", "/api/v1/designs", { token, body: { name: "My mug", productType: "mug", document: validDocument(), ...overrides } })

const setPlan = (userId: string, plan: string, status: string) =>
  call("PUT", `/api/v1/internal/subscriptions/${userId}`, { headers: { "x-service-key": SERVICE_KEY }, body: { plan, status } })

describe("designs", () => {
  it("create, read, update with optimistic concurrency, duplicate, delete", async () => {
    const user = await signUp()
    const created = await create(user.token)
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ ownerId: user.id, name: "My mug", productType: "mug", status: "draft", version: 1, document: validDocument() })

    const read = await call("GET", `/api/v1/designs/${created.body.id}`, { token: user.token })
    expect(read.body).toEqual(created.body)

    const renamed = await call("PATCH", `/api/v1/designs/${created.body.id}`, { token: user.token, body: { version: 1, name: "Renamed", status: "ready" } })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({ name: "Renamed", status: "ready", version: 2 })
    expect((await call("GET", `/api/v1/designs/${created.body.id}`, { token: user.token })).body.name).toBe("Renamed")

    const stale = await call("PATCH", `/api/v1/designs/${created.body.id}`, { token: user.token, body: { version: 1, name: "Lost update" } })
    expect(stale.status).toBe(409)
    expect(stale.body).toMatchObject({ code: "version_conflict", currentVersion: 2 })

    const viaIfMatch = await call("PATCH", `/api/v1/designs/${created.body.id}`, { token: user.token, headers: { "if-match": "\"2\"" }, body: { name: "Via If-Match" } })
    expect(viaIfMatch.status).toBe(200)
    expect(viaIfMatch.body.version).toBe(3)
    const noVersion = await call("PATCH", `/api/v1/designs/${created.body.id}`, { token: user.token, body: { name: "x" } })
    expect(noVersion.status).toBe(400)
    expect(noVersion.body.errors[0].path).toBe("version")

    const copy = await call("POST", `/api/v1/designs/${created.body.id}/duplicate`, { token: user.token })
    expect(copy.status).toBe(201)
    expect(copy.body).toMatchObject({ name: "Via If-Match (copy)", status: "draft", version: 1 })
    expect(copy.body.id).not.toBe(created.body.id)

    expect((await call("DELETE", `/api/v1/designs/${created.body.id}`, { token: user.token })).status).toBe(204)
    expect((await call("GET", `/api/v1/designs/${created.body.id}`, { token: user.token })).status).toBe(404)
    expect((await call("DELETE", `/api/v1/designs/${created.body.id}`, { token: user.token })).status).toBe(404)
    const list = await call("GET", "/api/v1/designs", { token: user.token })
    expect(list.body.data.map((d: { id: string }) => d.id)).toEqual([copy.body.id])
  })

  it("lists every invalid path of a document, and refuses unknown products and oversized canvases", async () => {
    const user = await signUp()
    const document = validDocument() as any
    document.canvas.dpi = 10
    document.layers[0].opacity = 2
    document.layers.push({ ...document.layers[0], id: "l2", opacity: 1, fontFamily: "Comic Sans MS" })
    const invalid = await create(user.token, { document })
    expect(invalid.status).toBe(400)
    expect(invalid.body.code).toBe("validation_failed")
    expect(invalid.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "document.canvas.dpi",
      "document.layers.0.opacity",
      "document.layers.1.fontFamily"
    ])
    const unknown = await create(user.token, { productType: "spaceship" })
    expect(unknown.status).toBe(400)
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: "productType" })])
    const tooBig = await create(user.token, {
      productType: "phone-case",
      document: { canvas: { width: 100, height: 100, unit: "mm", dpi: 300, background: null }, layers: [] }
    })
    expect(tooBig.status).toBe(400)
    expect(tooBig.body.errors).toEqual([expect.objectContaining({ path: "document.canvas.width" })])
    const url = await create(user.token, {
      document: { ...validDocument(), layers: [{ id: "i", type: "image", x: 0, y: 0, width: 1, height: 1, rotation: 0, opacity: 1, zIndex: 0, assetId: "https://evil.example.com/x.png" }] }
    })
    expect(url.status).toBe(400)
    expect(url.body.errors[0].path).toBe("document.layers.0.assetId")
  })

  it("paginates newest first with a stable cursor while designs are added, and filters", async () => {
    const user = await signUp()
    await setPlan(user.id, "enterprise", "active")
    const ids: Array<string> = []
    for (let i = 0; i < 7; i++) ids.push((await create(user.token, { productType: i % 2 === 0 ? "mug" : "poster" })).body.id)
    const first = await call("GET", "/api/v1/designs?limit=3", { token: user.token })
    expect(first.body.data.map((d: { id: string }) => d.id)).toEqual(ids.slice(-3).reverse())
    // New designs appear on page one, never shift the pages already being walked.
    await create(user.token)
    await create(user.token)
    const seen: Array<string> = first.body.data.map((d: { id: string }) => d.id)
    let cursor: string | null = first.body.nextCursor
    while (cursor !== null) {
      const page = await call("GET", `/api/v1/designs?limit=3&cursor=${cursor}`, { token: user.token })
      seen.push(...page.body.data.map((d: { id: string }) => d.id))
      cursor = page.body.nextCursor
    }
    expect(seen).toEqual([...ids].reverse())
    const posters = await call("GET", "/api/v1/designs?productType=poster&limit=100", { token: user.token })
    expect(posters.body.data).toHaveLength(3)
    const ready = await call("GET", "/api/v1/designs?status=ready", { token: user.token })
    expect(ready.body.data).toEqual([])
    for (const bad of ["limit=0", "limit=101", "limit=abc", "status=deleted", "cursor=garbage"]) {
      const result = await call("GET", `/api/v1/designs?${bad}`, { token: user.token })
      expect(result.status, bad).toBe(400)
      expect(result.body.errors[0].location).toBe("query")
    }
  })

  it("answers 404 for another user's design, byte for byte like a random id", async () => {
    const owner = await signUp()
    const other = await signUp()
    const design = (await create(owner.token)).body
    const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined })
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["PATCH", "", { version: 1, name: "hijack" }],
      ["DELETE", "", undefined],
      ["POST", "/duplicate", undefined]
    ] as const) {
      const theirs = await call(method, `/api/v1/designs/${design.id}${suffix}`, { token: other.token, ...(body ? { body } : {}) })
      const random = await call(method, `/api/v1/designs/${randomUUID()}${suffix}`, { token: other.token, ...(body ? { body } : {}) })
      expect(theirs.status, `${method} ${suffix}`).toBe(404)
      expect(strip(theirs.body)).toEqual(strip(random.body))
    }
    expect((await call("GET", `/api/v1/designs/${design.id}`, { token: owner.token })).body.name).toBe("My mug")
  })
})

describe("quota and subscription", () => {
  it("allows 10 designs a month on free, then 402 quota_exceeded; deleting gives nothing back", async () => {
    const user = await signUp()
    const created: Array<string> = []
    for (let i = 0; i < 10; i++) {
      const result = await create(user.token)
      expect(result.status).toBe(201)
      created.push(result.body.id)
    }
    await call("DELETE", `/api/v1/designs/${created[0]}`, { token: user.token })
    const over = await create(user.token)
    expect(over.status).toBe(402)
    expect(over.body).toMatchObject({ code: "quota_exceeded", limit: 10, used: 10 })
    const now = new Date()
    expect(over.body.resetsAt).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString())
    expect((await call("POST", `/api/v1/designs/${created[1]}/duplicate`, { token: user.token })).status).toBe(402)
    const usage = await call("GET", "/api/v1/subscriptions/me/usage", { token: user.token })
    expect(usage.body).toMatchObject({ designsCreated: 10, designsLimit: 10, remaining: 0 })
    const quota = await call("GET", "/api/v1/subscriptions/me/quota", { token: user.token })
    expect(quota.body).toMatchObject({ allowed: false, remaining: 0, resetsAt: over.body.resetsAt })
    const [row] = await query<{ n: string }>(`SELECT count(*) AS n FROM designs WHERE owner_id = '${user.id}'`)
    expect(Number(row!.n)).toBe(10)
  })

  it("refuses creates for inactive subscriptions (402) while reads keep working; plan changes apply at once", async () => {
    const user = await signUp()
    const design = (await create(user.token)).body
    const subscription = await call("GET", "/api/v1/subscriptions/me", { token: user.token })
    expect(subscription.body).toMatchObject({ plan: "free", status: "active", limits: { designsPerMonth: 10 } })
    for (const status of ["past_due", "canceled", "incomplete"]) {
      expect((await setPlan(user.id, "free", status)).status).toBe(200)
      const refused = await create(user.token)
      expect(refused.status).toBe(402)
      expect(refused.body).toMatchObject({ code: "subscription_inactive", subscriptionStatus: status })
      expect((await call("GET", `/api/v1/designs/${design.id}`, { token: user.token })).status).toBe(200)
    }
    const upgraded = await setPlan(user.id, "pro", "active")
    expect(upgraded.body).toMatchObject({ plan: "pro", status: "active", limits: { designsPerMonth: 1000 } })
    expect((await call("GET", "/api/v1/subscriptions/me", { token: user.token })).body.plan).toBe("pro")
    expect((await create(user.token)).status).toBe(201)
  })
})

describe("orders and internal routes", () => {
  const upsert = (externalId: string, body: Record<string, unknown>, headers: Record<string, string> = { "x-service-key": SERVICE_KEY }) =>
    call("PUT", `/api/v1/internal/orders/${externalId}`, { headers, body })

  it("upserts orders idempotently with a service key; users read only their own", async () => {
    const user = await signUp()
    const other = await signUp()
    const design = (await create(user.token)).body
    const order = { userId: user.id, designId: design.id, status: "paid", quantity: 2, totalCents: 4200, currency: "EUR" }
    const externalId = `shopify:${Date.now()}`
    const first = await upsert(externalId, order)
    const second = await upsert(externalId, order)
    expect(first.status).toBe(200)
    expect(second.body.id).toBe(first.body.id)
    const shipped = await upsert(externalId, { ...order, status: "shipped" })
    expect(shipped.body).toMatchObject({ id: first.body.id, status: "shipped" })
    const [count] = await query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE external_id = '${externalId}'`)
    expect(Number(count!.n)).toBe(1)

    const mine = await call("GET", "/api/v1/orders", { token: user.token })
    expect(mine.body.data.map((o: { id: string }) => o.id)).toEqual([first.body.id])
    expect((await call("GET", `/api/v1/orders/${first.body.id}`, { token: user.token })).body.status).toBe("shipped")
    expect((await call("GET", "/api/v1/orders", { token: other.token })).body.data).toEqual([])
    expect((await call("GET", `/api/v1/orders/${first.body.id}`, { token: other.token })).status).toBe(404)

    const unknownUser = await upsert(`shopify:${Date.now()}x`, { ...order, userId: randomUUID(), designId: null })
    expect(unknownUser.status).toBe(400)
  })

  it("refuse users' tokens (403) and missing keys (401) on internal routes", async () => {
    const user = await signUp()
    const order = { userId: user.id, designId: null, status: "paid", quantity: 1, totalCents: 100, currency: "USD" }
    const asUser = await call("PUT", "/api/v1/internal/orders/shopify:1", { token: user.token, body: order })
    expect(asUser.status).toBe(403)
    expect((await upsert("shopify:1", order, {})).status).toBe(401)
    const promote = await call("PUT", `/api/v1/internal/subscriptions/${user.id}`, { token: user.token, body: { plan: "enterprise", status: "active" } })
    expect(promote.status).toBe(403)
    expect((await call("GET", "/api/v1/subscriptions/me", { token: user.token })).body.plan).toBe("free")
  })
})

describe("the list query", () => {
  it("walks the owner's index (keyset), not the whole table", async () => {
    const user = await signUp()
    // With sequential scans priced out, the planner must still find an index that serves the
    // filter and the order: if the index stopped matching the query, this would name another.
    const plan = await Effect.runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.withTransaction(Effect.gen(function*() {
        yield* sql.unsafe("SET LOCAL enable_seqscan = off")
        return yield* sql.unsafe<Record<string, string>>(`
          EXPLAIN SELECT id, owner_id, name, product_type, status, document, version, created_at, updated_at FROM designs
          WHERE owner_id = '${user.id}' AND deleted_at IS NULL AND (created_at, id) < (now(), '${randomUUID()}')
          ORDER BY created_at DESC, id DESC LIMIT 21`)
      }))
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))
    const text = plan.map((row) => Object.values(row)[0]).join("\n")
    expect(text).toMatch(/Index (Only )?Scan using designs_owner_newest/)
    expect(text).not.toMatch(/Sort/)
  })
})
