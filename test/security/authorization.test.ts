import { randomUUID } from "node:crypto"
import type { Effect } from "effect"
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DEVELOPMENT_JWT_SECRET } from "../../src/config/AppConfig.ts"
import type { AssetId } from "../../src/domain/Asset.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { RenderJobId } from "../../src/domain/Jobs.ts"
import type { OrderId } from "../../src/domain/Order.ts"
import { validDocument } from "../support/http.ts"
import { asSent, bodyFor, endpoints, expectProblem, fillPath, securityHarness, SERVICE_KEY } from "../support/security.ts"
import { attempt, failure, ok, problemBody } from "../support/typedClient.ts"

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
  const as = h.api(owner.token)
  const design = await ok(as.designs.create({ payload: { name: "Secret mug", productType: "mug", document: validDocument() } }), 201)
  const ticket = await ok(as.assets.requestUpload({
    params: { id: design.id },
    payload: { fileName: "logo.png", contentType: "image/png", byteSize: PNG.length }
  }), 201)
  // Raw: the upload URL is the local store's route beside the API, not one of its endpoints.
  const uploadUrl = new URL(ticket.uploadUrl)
  const put = await h.raw("PUT", `${uploadUrl.pathname}${uploadUrl.search}`, { headers: { ...ticket.headers }, body: PNG })
  expect(put.status, put.text).toBeLessThan(300)
  await ok(as.assets.complete({ params: { id: design.id, assetId: ticket.assetId } }), 200)
  const job = await ok(as.jobs.render({ params: { id: design.id }, payload: {} }), 202)
  const order = await attempt(h.api({ serviceKey: SERVICE_KEY }).internal.upsertOrder({
    params: { externalId: `shopify:${Date.now()}` },
    payload: { userId: owner.id, designId: design.id, status: "paid", quantity: 1, totalCents: 2500, currency: "EUR" }
  }))
  if (order._tag === "Failure") throw new Error(`order not written: ${order.response?.text}`)
  expect([200, 201]).toContain(order.status)
  return { owner, design, assetId: ticket.assetId, jobId: job.id, orderId: order.value.id }
}

const imageDocument = (assetId: string): DesignDocument => ({
  ...validDocument(),
  layers: [{ id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId }]
})

describe("API1: object level authorization", () => {
  it("answers another user's design, assets, jobs and orders with a 404 identical to a random id's", async () => {
    const victim = await seedVictim()
    const attacker = await h.signUp()
    const designId = victim.design.id
    const { designs, assets: uploads, jobs: renders, ai, orders } = h.api(attacker.token)
    const rDesign = () => randomUUID() as DesignId
    const rAsset = () => randomUUID() as AssetId
    type Probe = readonly [label: string, theirs: Effect.Effect<unknown, unknown>, random: Effect.Effect<unknown, unknown>]
    const probes: ReadonlyArray<Probe> = [
      ["read design", designs.get({ params: { id: designId } }), designs.get({ params: { id: rDesign() } })],
      [
        "update design",
        designs.update({ params: { id: designId }, headers: {}, payload: { version: 1, name: "hijacked" } }),
        designs.update({ params: { id: rDesign() }, headers: {}, payload: { version: 1, name: "hijacked" } })
      ],
      [
        "update design, document",
        designs.update({ params: { id: designId }, headers: {}, payload: { version: 1, document: validDocument() } }),
        designs.update({ params: { id: rDesign() }, headers: {}, payload: { version: 1, document: validDocument() } })
      ],
      ["duplicate design", designs.duplicate({ params: { id: designId } }), designs.duplicate({ params: { id: rDesign() } })],
      ["render design", renders.render({ params: { id: designId }, payload: {} }), renders.render({ params: { id: rDesign() }, payload: {} })],
      ["render pdf", renders.render({ params: { id: designId }, payload: { kind: "pdf" } }), renders.render({ params: { id: rDesign() }, payload: { kind: "pdf" } })],
      ["similar designs", ai.similar({ params: { id: designId }, query: {} }), ai.similar({ params: { id: rDesign() }, query: {} })],
      [
        "request upload",
        uploads.requestUpload({ params: { id: designId }, payload: { fileName: "x.png", contentType: "image/png", byteSize: 10 } }),
        uploads.requestUpload({ params: { id: rDesign() }, payload: { fileName: "x.png", contentType: "image/png", byteSize: 10 } })
      ],
      [
        "complete upload",
        uploads.complete({ params: { id: designId, assetId: victim.assetId } }),
        uploads.complete({ params: { id: rDesign(), assetId: rAsset() } })
      ],
      [
        "complete upload, own design id",
        uploads.complete({ params: { id: designId, assetId: victim.assetId } }),
        uploads.complete({ params: { id: designId, assetId: rAsset() } })
      ],
      [
        "download asset",
        uploads.download({ params: { id: designId, assetId: victim.assetId } }),
        uploads.download({ params: { id: rDesign(), assetId: rAsset() } })
      ],
      [
        "download asset, random design",
        uploads.download({ params: { id: rDesign(), assetId: victim.assetId } }),
        uploads.download({ params: { id: rDesign(), assetId: rAsset() } })
      ],
      ["read job", renders.get({ params: { jobId: victim.jobId } }), renders.get({ params: { jobId: randomUUID() as RenderJobId } })],
      ["read order", orders.get({ params: { id: victim.orderId } }), orders.get({ params: { id: randomUUID() as OrderId } })],
      ["delete design", designs.delete({ params: { id: designId } }), designs.delete({ params: { id: rDesign() } })]
    ]
    for (const [label, theirs, random] of probes) {
      const attack = await attempt(theirs)
      const control = await attempt(random)
      expect(attack.status, `${label}: ${attack.response?.text}`).toBe(404)
      expect(attack, label).toMatchObject({ _tag: "Failure", error: { _tag: "NotFound", code: "not_found" } })
      expectProblem(asSent(attack.response), label)
      expect(problemBody(attack.response), label).toEqual(problemBody(control.response))
      expect(attack.response?.headers.get("content-type"), label).toBe(control.response?.headers.get("content-type"))
    }

    // The lists never show the victim's objects.
    expect((await ok(designs.list({ query: { limit: 100 } }))).data).toEqual([])
    expect((await ok(orders.list({ query: { limit: 100 } }))).data).toEqual([])

    // Nothing changed for the owner, and the attacker got nothing out of it.
    const owner = h.api(victim.owner.token)
    const after = await ok(owner.designs.get({ params: { id: designId } }), 200)
    expect(after).toMatchObject({ name: "Secret mug", version: 1, document: validDocument() })
    await ok(owner.assets.download({ params: { id: designId, assetId: victim.assetId } }), 200)
    const usage = await ok(h.api(attacker.token).subscriptions.usage())
    expect(usage.designsCreated).toBe(0)
    const [jobs] = await h.query<{ n: string }>("SELECT count(*) AS n FROM render_jobs WHERE design_id = $1", [designId])
    expect(Number(jobs!.n)).toBe(1)
    const [assets] = await h.query<{ n: string }>("SELECT count(*) AS n FROM assets WHERE design_id = $1", [designId])
    expect(Number(assets!.n)).toBe(1)
  })

  it("does not let a user use another user's asset in their own design", async () => {
    const victim = await seedVictim()
    const attacker = h.api((await h.signUp()).token)
    const own = await ok(attacker.designs.create({ payload: { name: "Mine", productType: "mug", document: validDocument() } }))
    const stolen = imageDocument(victim.assetId)
    const created = await failure(attacker.designs.create({ payload: { name: "Stolen", productType: "mug", document: stolen } }), "ValidationFailed")
    expect(created.status).toBe(400)
    expect(created.errors).toEqual([expect.objectContaining({ path: "document.layers.0.assetId" })])
    const updated = await failure(attacker.designs.update({ params: { id: own.id }, headers: {}, payload: { version: 1, document: stolen } }))
    expect(updated).toMatchObject({ status: 400 })
    // And the asset id of the victim under the attacker's own design is just as unknown.
    const download = await failure(attacker.assets.download({ params: { id: own.id, assetId: victim.assetId } }), "NotFound")
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

  // Raw: every admin and internal route found by reflection (the typed client names each one).
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
    const as = h.api(user.token)
    expect((await ok(as.me.get())).role).toBe("user")
    expect((await ok(as.subscriptions.get())).plan).toBe("free")
    expect((await ok(as.orders.list({ query: {} }))).data).toEqual([])
  })

  // Raw: every user route found by reflection.
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
    await ok(h.api(adminUser.token).admin.listUsers({ query: { limit: 1 } }), 200)
    // Raw: every internal route found by reflection.
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

  it("knows which routes are public: only health, the sign-in flows and the catalogue", () => {
    expect(publicRoutes.sort()).toEqual([
      "GET /api/v1/plans",
      "GET /api/v1/products",
      "GET /health",
      "POST /api/v1/auth/login",
      "POST /api/v1/auth/password-reset/confirm",
      "POST /api/v1/auth/password-reset/request",
      "POST /api/v1/auth/refresh",
      "POST /api/v1/auth/register"
    ])
  })

  // Raw: every protected route found by reflection, with forged tokens, asserting WWW-Authenticate.
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
    await ok(h.api(victim.token).me.get(), 200)
  })

  // Raw: every internal route found by reflection.
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
