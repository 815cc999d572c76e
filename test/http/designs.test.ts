import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { PlanId, SubscriptionStatus } from "../../src/domain/Subscription.ts"
import type { UserId } from "../../src/domain/User.ts"
import { client, uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, failure, ok, problemBody, typedClient } from "../support/typedClient.ts"

const SERVICE_KEY = "s".repeat(40)
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
let databaseUrl: string
const api = typedClient(() => app)
/** Raw requests: only for values the typed client's schemas refuse to send. */
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
  const { user, tokens } = await ok(
    api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Designer" } }),
    201
  )
  return { id: user.id, token: tokens.accessToken }
}

const create = (token: string, overrides: { readonly productType?: string; readonly document?: DesignDocument } = {}) =>
  api(token).designs.create({ payload: { name: "My mug", productType: "mug", document: validDocument(), ...overrides } })

const setPlan = (userId: UserId, plan: PlanId, status: SubscriptionStatus) =>
  api({ serviceKey: SERVICE_KEY }).internal.setSubscription({ params: { userId }, payload: { plan, status } })

const randomDesignId = () => randomUUID() as DesignId

describe("designs", () => {
  it("create, read, update with optimistic concurrency, duplicate, delete", async () => {
    const user = await signUp()
    const designs = api(user.token).designs
    const created = await ok(create(user.token), 201)
    expect(created).toMatchObject({ ownerId: user.id, name: "My mug", productType: "mug", status: "draft", version: 1, document: validDocument() })
    const id = created.id

    const read = await ok(designs.get({ params: { id } }))
    expect(read).toEqual(created)

    const renamed = await ok(designs.update({ params: { id }, headers: {}, payload: { version: 1, name: "Renamed", status: "ready" } }), 200)
    expect(renamed).toMatchObject({ name: "Renamed", status: "ready", version: 2 })
    expect((await ok(designs.get({ params: { id } }))).name).toBe("Renamed")

    const stale = await failure(designs.update({ params: { id }, headers: {}, payload: { version: 1, name: "Lost update" } }), "VersionConflict")
    expect(stale).toMatchObject({ status: 409, code: "version_conflict", currentVersion: 2 })

    const viaIfMatch = await ok(designs.update({ params: { id }, headers: { "if-match": "\"2\"" }, payload: { name: "Via If-Match" } }), 200)
    expect(viaIfMatch.version).toBe(3)
    const noVersion = await failure(designs.update({ params: { id }, headers: {}, payload: { name: "x" } }), "ValidationFailed")
    expect(noVersion.status).toBe(400)
    expect(noVersion.errors[0]!.path).toBe("version")

    const copy = await ok(designs.duplicate({ params: { id } }), 201)
    expect(copy).toMatchObject({ name: "Via If-Match (copy)", status: "draft", version: 1 })
    expect(copy.id).not.toBe(created.id)

    expect(await attempt(designs.delete({ params: { id } }))).toMatchObject({ _tag: "Success", status: 204 })
    expect((await failure(designs.get({ params: { id } }), "NotFound")).status).toBe(404)
    expect((await failure(designs.delete({ params: { id } }), "NotFound")).status).toBe(404)
    const list = await ok(designs.list({ query: {} }))
    expect(list.data.map((d) => d.id)).toEqual([copy.id])
  })

  it("lists every invalid path of a document, and refuses unknown products and oversized canvases", async () => {
    const user = await signUp()
    const document = validDocument() as any
    document.canvas.dpi = 10
    document.layers[0].opacity = 2
    document.layers.push({ ...document.layers[0], id: "l2", opacity: 1, fontFamily: "Comic Sans MS" })
    // Raw: the typed client refuses this document before sending it.
    const invalid = await call("POST", "/api/v1/designs", { token: user.token, body: { name: "My mug", productType: "mug", document } })
    expect(invalid.status).toBe(400)
    expect(invalid.body.code).toBe("validation_failed")
    expect(invalid.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "document.canvas.dpi",
      "document.layers.0.opacity",
      "document.layers.1.fontFamily"
    ])
    const unknown = await failure(create(user.token, { productType: "spaceship" }), "ValidationFailed")
    expect(unknown.status).toBe(400)
    expect(unknown.errors).toEqual([expect.objectContaining({ path: "productType" })])
    const tooBig = await failure(create(user.token, {
      productType: "phone-case",
      document: { canvas: { width: 100, height: 100, unit: "mm", dpi: 300, background: null }, layers: [] }
    }), "ValidationFailed")
    expect(tooBig.status).toBe(400)
    expect(tooBig.errors).toEqual([expect.objectContaining({ path: "document.canvas.width" })])
    // Raw: an image layer's assetId is a UUID to the typed client, which refuses a URL.
    const url = await call("POST", "/api/v1/designs", {
      token: user.token,
      body: {
        name: "My mug",
        productType: "mug",
        document: { ...validDocument(), layers: [{ id: "i", type: "image", x: 0, y: 0, width: 1, height: 1, rotation: 0, opacity: 1, zIndex: 0, assetId: "https://evil.example.com/x.png" }] }
      }
    })
    expect(url.status).toBe(400)
    expect(url.body.errors[0].path).toBe("document.layers.0.assetId")
  })

  it("paginates newest first with a stable cursor while designs are added, and filters", async () => {
    const user = await signUp()
    const designs = api(user.token).designs
    await ok(setPlan(user.id, "enterprise", "active"))
    const ids: Array<string> = []
    for (let i = 0; i < 7; i++) ids.push((await ok(create(user.token, { productType: i % 2 === 0 ? "mug" : "poster" }))).id)
    const first = await ok(designs.list({ query: { limit: 3 } }))
    expect(first.data.map((d) => d.id)).toEqual(ids.slice(-3).reverse())
    // New designs appear on page one, never shift the pages already being walked.
    await ok(create(user.token))
    await ok(create(user.token))
    const seen: Array<string> = first.data.map((d) => d.id)
    let cursor: string | null = first.nextCursor
    while (cursor !== null) {
      const page = await ok(designs.list({ query: { limit: 3, cursor } }))
      seen.push(...page.data.map((d) => d.id))
      cursor = page.nextCursor
    }
    expect(seen).toEqual([...ids].reverse())
    const posters = await ok(designs.list({ query: { productType: "poster", limit: 100 } }))
    expect(posters.data).toHaveLength(3)
    const ready = await ok(designs.list({ query: { status: "ready" } }))
    expect(ready.data).toEqual([])
    // Raw: the typed client refuses these query values before sending them.
    for (const bad of ["limit=0", "limit=101", "limit=abc", "status=deleted"]) {
      const result = await call("GET", `/api/v1/designs?${bad}`, { token: user.token })
      expect(result.status, bad).toBe(400)
      expect(result.body.errors[0].location).toBe("query")
    }
    const garbage = await failure(designs.list({ query: { cursor: "garbage" } }), "InvalidCursor")
    expect(garbage).toMatchObject({ status: 400, code: "invalid_cursor" })
  })

  it("answers 404 for another user's design, byte for byte like a random id", async () => {
    const owner = await signUp()
    const other = api((await signUp()).token).designs
    const design = await ok(create(owner.token))
    const attempts: ReadonlyArray<readonly [string, (id: DesignId) => Effect.Effect<unknown, unknown>]> = [
      ["GET", (id) => other.get({ params: { id } })],
      ["PATCH", (id) => other.update({ params: { id }, headers: {}, payload: { version: 1, name: "hijack" } })],
      ["DELETE", (id) => other.delete({ params: { id } })],
      ["POST /duplicate", (id) => other.duplicate({ params: { id } })]
    ]
    for (const [label, send] of attempts) {
      const theirs = await attempt(send(design.id))
      const random = await attempt(send(randomDesignId()))
      expect(theirs.status, label).toBe(404)
      expect(theirs, label).toMatchObject({ _tag: "Failure", error: { _tag: "NotFound" } })
      expect(problemBody(theirs.response)).toEqual(problemBody(random.response))
    }
    expect((await ok(api(owner.token).designs.get({ params: { id: design.id } }))).name).toBe("My mug")
  })
})

describe("quota and subscription", () => {
  it("allows 10 designs a month on free, then 402 quota_exceeded; deleting gives nothing back", async () => {
    const user = await signUp()
    const me = api(user.token)
    const created: Array<DesignId> = []
    for (let i = 0; i < 10; i++) created.push((await ok(create(user.token), 201)).id)
    await ok(me.designs.delete({ params: { id: created[0]! } }))
    const over = await failure(create(user.token), "QuotaExceeded")
    expect(over).toMatchObject({ status: 402, code: "quota_exceeded", limit: 10, used: 10 })
    const now = new Date()
    expect(new Date(over.resetsAt).getTime()).toBe(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
    expect((await failure(me.designs.duplicate({ params: { id: created[1]! } }), "QuotaExceeded")).status).toBe(402)
    const usage = await ok(me.subscriptions.usage())
    expect(usage).toMatchObject({ designsCreated: 10, designsLimit: 10, remaining: 0 })
    const quota = await ok(me.subscriptions.quota())
    expect(quota).toMatchObject({ allowed: false, remaining: 0 })
    expect(new Date(quota.resetsAt).getTime()).toBe(new Date(over.resetsAt).getTime())
    const [row] = await query<{ n: string }>(`SELECT count(*) AS n FROM designs WHERE owner_id = '${user.id}'`)
    expect(Number(row!.n)).toBe(10)
  })

  it("refuses creates for inactive subscriptions (402) while reads keep working; plan changes apply at once", async () => {
    const user = await signUp()
    const me = api(user.token)
    const design = await ok(create(user.token))
    const subscription = await ok(me.subscriptions.get())
    expect(subscription).toMatchObject({ plan: "free", status: "active", limits: { designsPerMonth: 10 } })
    for (const status of ["past_due", "canceled", "incomplete"] as const) {
      await ok(setPlan(user.id, "free", status), 200)
      const refused = await failure(create(user.token), "SubscriptionInactive")
      expect(refused).toMatchObject({ status: 402, code: "subscription_inactive", subscriptionStatus: status })
      await ok(me.designs.get({ params: { id: design.id } }), 200)
    }
    const upgraded = await ok(setPlan(user.id, "pro", "active"))
    expect(upgraded).toMatchObject({ plan: "pro", status: "active", limits: { designsPerMonth: 1000 } })
    expect((await ok(me.subscriptions.get())).plan).toBe("pro")
    await ok(create(user.token), 201)
  })
})

describe("orders and internal routes", () => {
  interface OrderBody {
    readonly userId: UserId
    readonly designId: DesignId | null
    readonly status: "paid" | "shipped"
    readonly quantity: number
    readonly totalCents: number
    readonly currency: string
  }
  const upsert = (externalId: string, payload: OrderBody, caller: { serviceKey?: string; token?: string } = { serviceKey: SERVICE_KEY }) =>
    api(caller).internal.upsertOrder({ params: { externalId }, payload })

  it("upserts orders idempotently with a service key; users read only their own", async () => {
    const user = await signUp()
    const other = await signUp()
    const design = await ok(create(user.token))
    const order: OrderBody = { userId: user.id, designId: design.id, status: "paid", quantity: 2, totalCents: 4200, currency: "EUR" }
    const externalId = `shopify:${Date.now()}`
    // 201 when the order is created, 200 when it is written again (a retry, an update).
    const first = await ok(upsert(externalId, order), 201)
    const second = await ok(upsert(externalId, order), 200)
    expect(second.id).toBe(first.id)
    const shipped = await ok(upsert(externalId, { ...order, status: "shipped" }), 200)
    expect(shipped).toMatchObject({ id: first.id, status: "shipped" })
    const [count] = await query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE external_id = '${externalId}'`)
    expect(Number(count!.n)).toBe(1)

    const mine = await ok(api(user.token).orders.list({ query: {} }))
    expect(mine.data.map((o) => o.id)).toEqual([first.id])
    expect((await ok(api(user.token).orders.get({ params: { id: first.id } }))).status).toBe("shipped")
    expect((await ok(api(other.token).orders.list({ query: {} }))).data).toEqual([])
    expect((await failure(api(other.token).orders.get({ params: { id: first.id } }), "NotFound")).status).toBe(404)

    const unknownUser = await failure(upsert(`shopify:${Date.now()}x`, { ...order, userId: randomUUID() as UserId, designId: null }), "ValidationFailed")
    expect(unknownUser).toMatchObject({ status: 400 })
  })

  it("orders outlive their account: deleting it detaches them, and the integration's updates still succeed", async () => {
    const email = `orders-outlive-${Date.now()}@example.com`
    const registered = await ok(api().auth.register({ payload: { email, password: "correct horse battery", fullName: "Gone" } }), 201)
    const userId = registered.user.id
    const order: OrderBody = { userId, designId: null, status: "paid", quantity: 1, totalCents: 1999, currency: "EUR" }
    const externalId = `shopify:outlive:${Date.now()}`
    const placed = await ok(upsert(externalId, order))
    await ok(api(registered.tokens.accessToken).me.delete({ payload: { password: "correct horse battery" } }), 204)

    const [kept] = await query<{ user_id: string | null; status: string }>(`SELECT user_id, status FROM orders WHERE external_id = '${externalId}'`)
    expect(kept).toEqual({ user_id: null, status: "paid" })
    // The integration still ships it (it names the deleted account, as it always did).
    const shipped = await ok(upsert(externalId, { ...order, status: "shipped" }))
    expect(shipped).toMatchObject({ id: placed.id, status: "shipped" })
    const [after] = await query<{ user_id: string | null; status: string }>(`SELECT user_id, status FROM orders WHERE external_id = '${externalId}'`)
    expect(after).toEqual({ user_id: null, status: "shipped" })
    // A new order for the deleted account is still the caller's mistake.
    await failure(upsert(`${externalId}:new`, order), "ValidationFailed")
  })

  it("refuse users' tokens (403) and missing keys (401) on internal routes", async () => {
    const user = await signUp()
    const order: OrderBody = { userId: user.id, designId: null, status: "paid", quantity: 1, totalCents: 100, currency: "USD" }
    const asUser = await failure(upsert("shopify:1", order, { token: user.token }), "Forbidden")
    expect(asUser.status).toBe(403)
    expect((await failure(upsert("shopify:1", order, {}), "Unauthorized")).status).toBe(401)
    const promote = await failure(
      api(user.token).internal.setSubscription({ params: { userId: user.id }, payload: { plan: "enterprise", status: "active" } }),
      "Forbidden"
    )
    expect(promote.status).toBe(403)
    expect((await ok(api(user.token).subscriptions.get())).plan).toBe("free")
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

describe("rows written around the API", () => {
  it("are served as stored, even with values today's checks refuse (a manual fix, an import): never a 500 that locks their owner out", async () => {
    const user = await signUp()
    const design = await ok(create(user.token), 201)
    const longName = "n".repeat(250)
    await query(`UPDATE designs SET name = '${longName}' WHERE id = '${design.id}'`)
    await query(`UPDATE users SET avatar_url = 'http://legacy.example.com/a.png' WHERE id = '${user.id}'`)
    // Raw calls: a typed client checks what it decodes, and would refuse these values itself
    // (so does the contract check: these rows are outside the document's bounds on purpose).
    const read = await call("GET", `/api/v1/designs/${design.id}`, { token: user.token, contract: false })
    expect(read.status).toBe(200)
    expect(read.body.name).toBe(longName)
    const list = await call("GET", "/api/v1/designs", { token: user.token, contract: false })
    expect(list.status).toBe(200)
    const me = await call("GET", "/api/v1/users/me", { token: user.token, contract: false })
    expect(me.status).toBe(200)
    expect(me.body.avatarUrl).toBe("http://legacy.example.com/a.png")
  })
})
