import { randomUUID } from "node:crypto"
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEVELOPMENT_JWT_SECRET } from "../../src/config/AppConfig.ts"
import { validDocument } from "../support/http.ts"
import { bodyFor, endpoints, expectProblem, fillPath, securityHarness, SERVICE_KEY, withoutRequestId } from "../support/security.ts"

/**
 * OWASP API1 (object level authorization), API5 (function level authorization) and API2
 * (broken authentication), on the real app over real PostgreSQL and Redis.
 */
const h = securityHarness()
beforeAll(h.start)
afterAll(h.stop)

/** A 1x1 transparent PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)

/** The owner's resources: a design, a completed asset of it, a render job and an order. */
const seedVictim = async () => {
  const owner = await h.signUp()
  const design = await h.call("POST", "/api/v1/designs", { token: owner.token, body: { name: "Secret mug", productType: "mug", document: validDocument() } })
  expect(design.status).toBe(201)
  const ticket = await h.call("POST", `/api/v1/designs/${design.body.id}/assets`, {
    token: owner.token,
    body: { fileName: "logo.png", contentType: "image/png", byteSize: PNG.length }
  })
  expect(ticket.status).toBe(201)
  const uploadUrl = new URL(ticket.body.uploadUrl as string)
  const put = await h.raw("PUT", `${uploadUrl.pathname}${uploadUrl.search}`, { headers: ticket.body.headers, body: PNG })
  expect(put.status, put.text).toBeLessThan(300)
  const completed = await h.call("POST", `/api/v1/designs/${design.body.id}/assets/${ticket.body.assetId}/complete`, { token: owner.token })
  expect(completed.status, completed.text).toBe(200)
  const job = await h.call("POST", `/api/v1/designs/${design.body.id}/render`, { token: owner.token, body: {} })
  expect(job.status).toBe(202)
  const order = await h.call("PUT", `/api/v1/internal/orders/shopify:${Date.now()}`, {
    serviceKey: SERVICE_KEY,
    body: { userId: owner.id, designId: design.body.id, status: "paid", quantity: 1, totalCents: 2500, currency: "EUR" }
  })
  expect([200, 201]).toContain(order.status)
  return { owner, design: design.body, assetId: ticket.body.assetId as string, jobId: job.body.jobId as string, orderId: order.body.id as string }
}

describe("API1: object level authorization", () => {
  it("answers another user's design, assets, jobs and orders with a 404 identical to a random id's", async () => {
    const victim = await seedVictim()
    const attacker = await h.signUp()
    const designId = victim.design.id as string
    type Probe = readonly [label: string, method: string, theirs: string, random: string, body?: unknown]
    const r = () => randomUUID()
    const probes: ReadonlyArray<Probe> = [
      ["read design", "GET", `/api/v1/designs/${designId}`, `/api/v1/designs/${r()}`],
      ["update design", "PATCH", `/api/v1/designs/${designId}`, `/api/v1/designs/${r()}`, { version: 1, name: "hijacked" }],
      ["update design, document", "PATCH", `/api/v1/designs/${designId}`, `/api/v1/designs/${r()}`, { version: 1, document: validDocument() }],
      ["duplicate design", "POST", `/api/v1/designs/${designId}/duplicate`, `/api/v1/designs/${r()}/duplicate`],
      ["render design", "POST", `/api/v1/designs/${designId}/render`, `/api/v1/designs/${r()}/render`, {}],
      ["render pdf", "POST", `/api/v1/designs/${designId}/render`, `/api/v1/designs/${r()}/render`, { kind: "pdf" }],
      ["similar designs", "GET", `/api/v1/designs/${designId}/similar`, `/api/v1/designs/${r()}/similar`],
      ["request upload", "POST", `/api/v1/designs/${designId}/assets`, `/api/v1/designs/${r()}/assets`, { fileName: "x.png", contentType: "image/png", byteSize: 10 }],
      ["complete upload", "POST", `/api/v1/designs/${designId}/assets/${victim.assetId}/complete`, `/api/v1/designs/${r()}/assets/${r()}/complete`],
      ["complete upload, own design id", "POST", `/api/v1/designs/${designId}/assets/${victim.assetId}/complete`, `/api/v1/designs/${designId}/assets/${r()}/complete`],
      ["download asset", "GET", `/api/v1/designs/${designId}/assets/${victim.assetId}`, `/api/v1/designs/${r()}/assets/${r()}`],
      ["download asset, random design", "GET", `/api/v1/designs/${r()}/assets/${victim.assetId}`, `/api/v1/designs/${r()}/assets/${r()}`],
      ["read job", "GET", `/api/v1/jobs/${victim.jobId}`, `/api/v1/jobs/${r()}`],
      ["read order", "GET", `/api/v1/orders/${victim.orderId}`, `/api/v1/orders/${r()}`],
      ["delete design", "DELETE", `/api/v1/designs/${designId}`, `/api/v1/designs/${r()}`]
    ]
    for (const [label, method, theirs, random, body] of probes) {
      const options = { token: attacker.token, ...(body === undefined ? {} : { body }) }
      const attack = await h.call(method, theirs, options)
      const control = await h.call(method, random, options)
      expect(attack.status, `${label}: ${attack.text}`).toBe(404)
      expectProblem(attack, label)
      expect(withoutRequestId(attack.body), label).toEqual(withoutRequestId(control.body))
      expect(attack.headers.get("content-type"), label).toBe(control.headers.get("content-type"))
    }

    // The lists never show the victim's objects.
    const designs = await h.call("GET", "/api/v1/designs?limit=100", { token: attacker.token })
    expect(designs.body.data).toEqual([])
    const orders = await h.call("GET", "/api/v1/orders?limit=100", { token: attacker.token })
    expect(orders.body.data).toEqual([])

    // Nothing changed for the owner, and the attacker got nothing out of it.
    const after = await h.call("GET", `/api/v1/designs/${designId}`, { token: victim.owner.token })
    expect(after.status).toBe(200)
    expect(after.body).toMatchObject({ name: "Secret mug", version: 1, document: validDocument() })
    const download = await h.call("GET", `/api/v1/designs/${designId}/assets/${victim.assetId}`, { token: victim.owner.token })
    expect(download.status).toBe(200)
    const usage = await h.call("GET", "/api/v1/subscriptions/me/usage", { token: attacker.token })
    expect(usage.body.designsCreated).toBe(0)
    const [jobs] = await h.query<{ n: string }>("SELECT count(*) AS n FROM render_jobs WHERE design_id = $1", [designId])
    expect(Number(jobs!.n)).toBe(1)
    const [assets] = await h.query<{ n: string }>("SELECT count(*) AS n FROM assets WHERE design_id = $1", [designId])
    expect(Number(assets!.n)).toBe(1)
  })

  it("does not let a user use another user's asset in their own design", async () => {
    const victim = await seedVictim()
    const attacker = await h.signUp()
    const own = await h.call("POST", "/api/v1/designs", { token: attacker.token, body: { name: "Mine", productType: "mug", document: validDocument() } })
    const imageDocument = {
      ...validDocument(),
      layers: [{ id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId: victim.assetId }]
    }
    const created = await h.call("POST", "/api/v1/designs", { token: attacker.token, body: { name: "Stolen", productType: "mug", document: imageDocument } })
    expect(created.status).toBe(400)
    expect(created.body.errors).toEqual([expect.objectContaining({ path: "document.layers.0.assetId" })])
    const updated = await h.call("PATCH", `/api/v1/designs/${own.body.id}`, { token: attacker.token, body: { version: 1, document: imageDocument } })
    expect(updated.status).toBe(400)
    // And the asset id of the victim under the attacker's own design is just as unknown.
    const download = await h.call("GET", `/api/v1/designs/${own.body.id}/assets/${victim.assetId}`, { token: attacker.token })
    expect(download.status).toBe(404)
  })
})

describe("API5: function level authorization", () => {
  const admin = endpoints.filter((e) => e.path.startsWith("/api/v1/admin/"))
  const internal = endpoints.filter((e) => e.path.startsWith("/api/v1/internal/"))
  const userRoutes = endpoints.filter((e) => e.auth === "user")

  it("finds the admin, internal and user routes in the HttpApi definition", () => {
    expect(admin.length).toBeGreaterThanOrEqual(2)
    expect(internal.length).toBeGreaterThanOrEqual(3)
    expect(internal.every((e) => e.auth === "service")).toBe(true)
    expect(userRoutes.length).toBeGreaterThan(15)
  })

  it("refuses a user's token on every admin route (403) and every internal route (403), with valid bodies", async () => {
    const user = await h.signUp()
    for (const endpoint of admin) {
      const body = endpoint.key === "admin.updateUser" ? { role: "admin" } : bodyFor(endpoint)
      const result = await h.call(endpoint.method, fillPath(endpoint.path, { id: user.id }), { token: user.token, ...(body === undefined ? {} : { body }) })
      expect(result.status, `${endpoint.key}: ${result.text}`).toBe(403)
      expectProblem(result)
      expect(result.body.code).toBe("forbidden")
    }
    for (const endpoint of internal) {
      const body = endpoint.key === "internal.setSubscription"
        ? { plan: "enterprise", status: "active" }
        : endpoint.key === "internal.upsertOrder"
        ? { userId: user.id, designId: null, status: "paid", quantity: 1, totalCents: 1, currency: "EUR" }
        : bodyFor(endpoint)
      const path = fillPath(endpoint.path, { userId: user.id })
      const result = await h.call(endpoint.method, path, { token: user.token, ...(body === undefined ? {} : { body }) })
      expect(result.status, `${endpoint.key}: ${result.text}`).toBe(403)
      expectProblem(result)
      // A wrong service key next to the bearer token does not help either.
      const withKey = await h.call(endpoint.method, path, { token: user.token, serviceKey: "x".repeat(40), ...(body === undefined ? {} : { body }) })
      expect(withKey.status, endpoint.key).toBeGreaterThanOrEqual(401)
      expect(withKey.status, endpoint.key).toBeLessThanOrEqual(403)
    }
    const me = await h.call("GET", "/api/v1/users/me", { token: user.token })
    expect(me.body.role).toBe("user")
    expect((await h.call("GET", "/api/v1/subscriptions/me", { token: user.token })).body.plan).toBe("free")
    expect((await h.call("GET", "/api/v1/orders", { token: user.token })).body.data).toEqual([])
  })

  it("refuses a service key (without a bearer token) on every user route with 401", async () => {
    const target = await h.signUp()
    for (const endpoint of userRoutes) {
      const body = bodyFor(endpoint)
      const result = await h.call(endpoint.method, fillPath(endpoint.path, { id: target.id }), {
        serviceKey: SERVICE_KEY,
        ...(body === undefined ? {} : { body })
      })
      expect(result.status, `${endpoint.key}: ${result.text}`).toBe(401)
      expectProblem(result)
      // The key as a bearer token is no better.
      const asBearer = await h.call(endpoint.method, fillPath(endpoint.path, { id: target.id }), {
        token: SERVICE_KEY,
        ...(body === undefined ? {} : { body })
      })
      expect(asBearer.status, endpoint.key).toBe(401)
    }
  })

  it("lets an admin do admin things, but not service things", async () => {
    const adminUser = await h.signUpAdmin()
    expect((await h.call("GET", "/api/v1/admin/users?limit=1", { token: adminUser.token })).status).toBe(200)
    for (const endpoint of internal) {
      const body = bodyFor(endpoint)
      const result = await h.call(endpoint.method, fillPath(endpoint.path, { userId: adminUser.id }), { token: adminUser.token, ...(body === undefined ? {} : { body }) })
      expect(result.status, endpoint.key).toBe(403)
    }
  })
})

describe("API2: broken authentication on every protected route", () => {
  const secret = new TextEncoder().encode(DEVELOPMENT_JWT_SECRET)
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
  const sign = (claims: Record<string, unknown>, key = secret) =>
    new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "at+jwt" }).sign(key)

  const protectedRoutes = endpoints.filter((e) => e.auth === "user")
  const serviceRoutes = endpoints.filter((e) => e.auth === "service")
  const publicRoutes = endpoints.filter((e) => e.auth === "none").map((e) => `${e.method} ${e.path}`)

  it("knows which routes are public: only health and the sign-in flows", () => {
    expect(publicRoutes.sort()).toEqual([
      "GET /health",
      "POST /api/v1/auth/login",
      "POST /api/v1/auth/password-reset/confirm",
      "POST /api/v1/auth/password-reset/request",
      "POST /api/v1/auth/refresh",
      "POST /api/v1/auth/register"
    ])
  })

  it("answers 401 with WWW-Authenticate to no, alg none, foreign, expired and refresh tokens everywhere", async () => {
    const victim = await h.signUp()
    const claims = JSON.parse(Buffer.from(victim.token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>
    const now = Math.floor(Date.now() / 1000)
    const fresh = { ...claims, iat: now, exp: now + 600 }
    const attacks: Record<string, string | undefined> = {
      "no token": undefined,
      "alg none": `${b64({ alg: "none", typ: "at+jwt" })}.${b64(fresh)}.`,
      "alg none, admin": `${b64({ alg: "none", typ: "at+jwt" })}.${b64({ ...fresh, role: "admin" })}.`,
      "other secret": await sign(fresh, new TextEncoder().encode("another-secret-of-sufficient-length-0123456789")),
      "expired": await sign({ ...fresh, iat: now - 7200, exp: now - 3600 }),
      "refresh token as bearer": victim.refreshToken
    }
    for (const endpoint of protectedRoutes) {
      const body = bodyFor(endpoint)
      const path = fillPath(endpoint.path)
      for (const [name, token] of Object.entries(attacks)) {
        const result = await h.call(endpoint.method, path, { ...(token === undefined ? {} : { token }), ...(body === undefined ? {} : { body }) })
        expect(result.status, `${name} on ${endpoint.method} ${endpoint.path}: ${result.text}`).toBe(401)
        expectProblem(result, `${name} on ${endpoint.key}`)
        expect(result.headers.get("www-authenticate") ?? "", name).toContain("Bearer")
      }
    }
    // Every attack above was refused for what it is: the genuine token still works.
    expect((await h.call("GET", "/api/v1/users/me", { token: victim.token })).status).toBe(200)
  })

  it("answers 401 to a missing or wrong service key on every internal route", async () => {
    for (const endpoint of serviceRoutes) {
      const body = bodyFor(endpoint)
      const path = fillPath(endpoint.path)
      for (const serviceKey of [undefined, "", "wrong", SERVICE_KEY.slice(0, -1), `${SERVICE_KEY}x`, SERVICE_KEY.toUpperCase()]) {
        const result = await h.call(endpoint.method, path, { ...(serviceKey === undefined ? {} : { serviceKey }), ...(body === undefined ? {} : { body }) })
        expect(result.status, `${endpoint.key} with ${JSON.stringify(serviceKey)}`).toBe(401)
        expectProblem(result)
      }
    }
  })
})
