import { Redacted } from "effect"
import { OpenApi } from "effect/http-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import { assertConforms } from "../support/contract.ts"
import { makeTestApp } from "../support/app.ts"
import { realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { endpoints, PASSWORD, securityHarness, SERVICE_KEY } from "../support/security.ts"
import { ok } from "../support/typedClient.ts"

/**
 * One id, one truth. Every route that takes a UUID (read from the OpenAPI document of CoreApi:
 * path parameters and request body fields of format uuid) answers alike whatever the case the
 * client spells the id in, and what it changes is seen alike by later reads, on either of two
 * instances sharing PostgreSQL and Redis (so the shared cache, its keys and its invalidations
 * are in play). Emails likewise: one mailbox is one account and one sign-in throttle.
 */
const h = securityHarness()
type App = ReturnType<typeof makeTestApp>
let second: App
beforeAll(async () => {
  await h.start()
  second = makeTestApp({
    databaseUrl: h.databaseUrl(),
    redisUrl: realRedisUrl(),
    config: { serviceApiKeys: [Redacted.make(SERVICE_KEY)] }
  })
})
afterAll(async () => {
  await second?.dispose()
  await h.stop()
})

/** A 1x1 transparent PNG. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)

type Spell = (id: string) => string
const spellings: Record<"lower" | "upper" | "mixed", Spell> = {
  lower: (id) => id.toLowerCase(),
  upper: (id) => id.toUpperCase(),
  mixed: (id) => [...id].map((c, i) => i % 2 === 0 ? c.toUpperCase() : c.toLowerCase()).join("")
}

interface Who {
  readonly token?: string
  readonly service?: boolean
}

interface Answer {
  readonly status: number
  readonly text: string
  readonly body: any
}

/** Raw: the typed client would send ids as its schemas encode them, not as a client spelled them. */
const send = async (app: App, method: string, path: string, who: Who = {}, body?: unknown): Promise<Answer> => {
  const headers: Record<string, string> = {}
  if (who.token !== undefined) headers["authorization"] = `Bearer ${who.token}`
  if (who.service === true) headers["x-service-key"] = SERVICE_KEY
  const init: RequestInit = { method, headers }
  if (body !== undefined) {
    headers["content-type"] = "application/json"
    init.body = JSON.stringify(body)
  }
  const response = await app.handler(new Request(`http://test${path}`, init))
  const text = await response.text()
  assertConforms({ method: method, path, status: response.status, headers: response.headers, text })
  let parsed: unknown = undefined
  try {
    parsed = text === "" ? undefined : JSON.parse(text)
  } catch {
    parsed = text
  }
  return { status: response.status, text, body: parsed }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/giu
/** The UUIDs in a text that are not in their canonical, lower-case form. */
const nonCanonical = (text: string) => (text.match(UUID) ?? []).filter((id) => id !== id.toLowerCase())

/**
 * What must agree between spellings: the status and the body, with what differs between two
 * fresh fixtures anyway (their ids, emails, times, signed URLs, the request id) replaced by names.
 */
const normalize = (answer: Answer, ids: Record<string, string>) => {
  let text = answer.text
  for (const [name, id] of Object.entries(ids)) text = text.replaceAll(new RegExp(id, "giu"), `<${name}>`)
  text = text
    .replace(/"requestId":"[^"]*"/gu, "\"requestId\":\"<request>\"")
    .replace(/https?:\/\/[^"\s]+/gu, "<url>")
    .replace(UUID, "<uuid>")
    .replace(/[\w.+-]+@example\.com/gu, "<email>")
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/gu, "<time>")
  return { status: answer.status, text }
}

// ---- Fixtures (canonical ids, through the typed client) -----------------------------------------

const newUser = () => h.signUp()

const newDesign = async (token: string, document: DesignDocument = validDocument()) =>
  ok(h.api(token).designs.create({ payload: { name: "Spelled", productType: "mug", document } }), 201)

const uploadedAsset = async (token: string, designId: string) => {
  const ticket = await ok(h.api(token).assets.requestUpload({
    params: { id: designId as never },
    payload: { fileName: "logo.png", contentType: "image/png", byteSize: PNG.length }
  }), 201)
  const url = new URL(ticket.uploadUrl)
  const put = await h.raw("PUT", `${url.pathname}${url.search}`, { headers: { ...ticket.headers }, body: PNG })
  expect(put.status, put.text).toBeLessThan(300)
  return ticket.assetId as string
}

const completedAsset = async (token: string, designId: string) => {
  const assetId = await uploadedAsset(token, designId)
  await ok(h.api(token).assets.complete({ params: { id: designId as never, assetId: assetId as never } }), 200)
  return assetId
}

const imageDocument = (assetId: string): DesignDocument => ({
  ...validDocument(),
  layers: [{ id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId }]
})

const newJob = async (token: string, designId: string) =>
  (await ok(h.api(token).jobs.render({ params: { id: designId as never }, payload: {} }), 202)).id as string

let orderCounter = 0
const newOrder = async (userId: string, designId: string) => {
  const externalId = `shopify:${Date.now()}x${orderCounter++}`
  const answer = await send(h.app(), "PUT", `/api/v1/internal/orders/${externalId}`, { service: true }, {
    userId, designId, status: "paid", quantity: 1, totalCents: 2500, currency: "EUR"
  })
  // (Created or not, the upsert answers 200 today.)
  expect([200, 201], answer.text).toContain(answer.status)
  return { id: answer.body.id as string, externalId }
}

interface Observation {
  readonly method: string
  readonly path: string
  readonly who: Who
  readonly body?: unknown
  /**
   * Only on the instance that took the call: the other one learns of a revoked session through
   * PostgreSQL's notifications, a moment after the commit (README, sessions), a delay that has
   * nothing to do with how an id is spelled.
   */
  readonly sameInstance?: true
}

interface Prepared {
  /** The fixture's canonical ids, by name (for `normalize`). */
  readonly ids: Record<string, string>
  readonly who: Who
  /** The call, every id in it spelled by `spell`. */
  readonly request: (spell: Spell) => { readonly params: Record<string, string>; readonly body?: unknown }
  /**
   * What shows the state the call leaves, with canonical ids: the GETs are also made before the
   * call, on both instances, so that the cache holds what a write must invalidate.
   */
  readonly observe: ReadonlyArray<Observation>
}

const get = (path: string, who: Who): Observation => ({ method: "GET", path, who })

const designReads = (token: string, id: string): ReadonlyArray<Observation> => [
  get(`/api/v1/designs/${id}`, { token }),
  get("/api/v1/designs?limit=10", { token }),
  get("/api/v1/subscriptions/me/usage", { token })
]

/**
 * One case per route that takes a UUID (in its path or its body): a fresh fixture for each
 * spelling, so that writes compare. The inventory test below keeps this list complete.
 */
const cases: Record<string, () => Promise<Prepared>> = {
  "designs.get": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    return {
      ids: { design: design.id, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) } }),
      observe: designReads(user.token, design.id)
    }
  },
  "designs.update": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    return {
      ids: { design: design.id, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) }, body: { version: 1, name: "Renamed" } }),
      observe: designReads(user.token, design.id)
    }
  },
  "designs.delete": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    return {
      ids: { design: design.id, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) } }),
      observe: [
        ...designReads(user.token, design.id),
        // A deleted design cannot be duplicated (nor charged for).
        { method: "POST", path: `/api/v1/designs/${design.id}/duplicate`, who: { token: user.token } },
        get("/api/v1/subscriptions/me/usage", { token: user.token })
      ]
    }
  },
  "designs.duplicate": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    return {
      ids: { design: design.id, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) } }),
      observe: designReads(user.token, design.id)
    }
  },
  "designs.create": async () => {
    const user = await newUser()
    const source = await newDesign(user.token)
    const assetId = await completedAsset(user.token, source.id)
    return {
      ids: { design: source.id, asset: assetId, user: user.id },
      who: { token: user.token },
      request: (spell) => ({
        params: {},
        body: { name: "With image", productType: "mug", document: imageDocument(spell(assetId)) }
      }),
      observe: [get("/api/v1/designs?limit=10", { token: user.token })]
    }
  },
  "assets.requestUpload": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    return {
      ids: { design: design.id, user: user.id },
      who: { token: user.token },
      request: (spell) => ({
        params: { id: spell(design.id) },
        body: { fileName: "logo.png", contentType: "image/png", byteSize: PNG.length }
      }),
      observe: designReads(user.token, design.id)
    }
  },
  "assets.complete": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const assetId = await uploadedAsset(user.token, design.id)
    return {
      ids: { design: design.id, asset: assetId, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id), assetId: spell(assetId) } }),
      observe: [
        get(`/api/v1/designs/${design.id}/assets/${assetId}`, { token: user.token }),
        // A completed upload may be shown by the design's image layers.
        { method: "PATCH", path: `/api/v1/designs/${design.id}`, who: { token: user.token }, body: { version: 1, document: imageDocument(assetId) } }
      ]
    }
  },
  "assets.download": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const assetId = await completedAsset(user.token, design.id)
    return {
      ids: { design: design.id, asset: assetId, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id), assetId: spell(assetId) } }),
      observe: [get(`/api/v1/designs/${design.id}/assets/${assetId}`, { token: user.token })]
    }
  },
  "assets.list": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const assetId = await completedAsset(user.token, design.id)
    return {
      ids: { design: design.id, asset: assetId, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) } }),
      observe: [get(`/api/v1/designs/${design.id}/assets`, { token: user.token })]
    }
  },
  "assets.delete": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const assetId = await completedAsset(user.token, design.id)
    return {
      ids: { design: design.id, asset: assetId, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id), assetId: spell(assetId) } }),
      observe: [
        get(`/api/v1/designs/${design.id}/assets`, { token: user.token }),
        get(`/api/v1/designs/${design.id}/assets/${assetId}`, { token: user.token }),
        // A deleted upload can no longer be shown by a layer.
        { method: "PATCH", path: `/api/v1/designs/${design.id}`, who: { token: user.token }, body: { version: 1, document: imageDocument(assetId) } }
      ]
    }
  },
  "jobs.listForDesign": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const jobId = await newJob(user.token, design.id)
    return {
      ids: { design: design.id, job: jobId, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) } }),
      observe: [get(`/api/v1/designs/${design.id}/jobs`, { token: user.token })]
    }
  },
  "jobs.render": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    return {
      ids: { design: design.id, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) }, body: {} }),
      observe: designReads(user.token, design.id)
    }
  },
  "jobs.get": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const jobId = await newJob(user.token, design.id)
    return {
      ids: { design: design.id, job: jobId, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { jobId: spell(jobId) } }),
      observe: [get(`/api/v1/jobs/${jobId}`, { token: user.token })]
    }
  },
  "internal.reportJob": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const jobId = await newJob(user.token, design.id)
    return {
      ids: { design: design.id, job: jobId, user: user.id },
      who: { service: true },
      request: (spell) => ({ params: { jobId: spell(jobId) }, body: { status: "completed", resultUrl: "https://cdn.example.com/r.png" } }),
      observe: [get(`/api/v1/jobs/${jobId}`, { token: user.token })]
    }
  },
  "ai.similar": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    return {
      ids: { design: design.id, user: user.id },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(design.id) } }),
      observe: designReads(user.token, design.id)
    }
  },
  "orders.get": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const { externalId, id: orderId } = await newOrder(user.id, design.id)
    return {
      ids: { design: design.id, order: orderId, user: user.id, external: externalId },
      who: { token: user.token },
      request: (spell) => ({ params: { id: spell(orderId) } }),
      observe: [get(`/api/v1/orders/${orderId}`, { token: user.token }), get("/api/v1/orders", { token: user.token })]
    }
  },
  "internal.upsertOrder": async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const externalId = `shopify:${Date.now()}x${orderCounter++}`
    return {
      ids: { design: design.id, user: user.id, external: externalId },
      who: { service: true },
      request: (spell) => ({
        params: { externalId },
        body: { userId: spell(user.id), designId: spell(design.id), status: "paid", quantity: 2, totalCents: 5000, currency: "EUR" }
      }),
      observe: [get("/api/v1/orders", { token: user.token })]
    }
  },
  "admin.updateUser": async () => {
    const admin = await h.signUpAdmin()
    const user = await newUser()
    return {
      ids: { admin: admin.id, user: user.id },
      who: { token: admin.token },
      request: (spell) => ({ params: { id: spell(user.id) }, body: { disabled: true } }),
      observe: [
        { ...get("/api/v1/users/me", { token: user.token }), sameInstance: true },
        get(`/api/v1/admin/users?email=${encodeURIComponent(user.email)}`, { token: admin.token }),
        { method: "POST", path: "/api/v1/auth/login", who: {}, body: { email: user.email, password: PASSWORD } }
      ]
    }
  },
  "internal.setSubscription": async () => {
    const user = await newUser()
    return {
      ids: { user: user.id },
      who: { service: true },
      request: (spell) => ({ params: { userId: spell(user.id) }, body: { plan: "starter", status: "canceled" } }),
      observe: [
        get("/api/v1/subscriptions/me", { token: user.token }),
        get("/api/v1/subscriptions/me/quota", { token: user.token }),
        // Only an active subscription creates.
        { method: "POST", path: "/api/v1/designs", who: { token: user.token }, body: { name: "After", productType: "mug", document: validDocument() } }
      ]
    }
  }
}

// ---- Which routes take a UUID: from the OpenAPI document ---------------------------------------

type Json = Record<string, any>
const spec = OpenApi.fromApi(CoreApi) as unknown as Json

const hasUuid = (schema: Json | undefined, seen = new Set<string>()): boolean => {
  if (schema === undefined || schema === null || typeof schema !== "object") return false
  if (typeof schema["$ref"] === "string") {
    const ref = schema["$ref"] as string
    if (seen.has(ref)) return false
    seen.add(ref)
    return hasUuid(spec["components"]["schemas"][ref.replace("#/components/schemas/", "")], seen)
  }
  if (schema["format"] === "uuid") return true
  const nested = [
    ...Object.values((schema["properties"] ?? {}) as Json),
    schema["items"],
    schema["additionalProperties"],
    ...((schema["prefixItems"] ?? []) as Array<Json>),
    ...((schema["anyOf"] ?? []) as Array<Json>),
    ...((schema["oneOf"] ?? []) as Array<Json>),
    ...((schema["allOf"] ?? []) as Array<Json>)
  ]
  return nested.some((s) => hasUuid(s, seen))
}

const takesUuid = Object.values(spec["paths"] as Json).flatMap((operations) =>
  Object.values(operations as Json).filter((operation: Json) =>
    ((operation["parameters"] ?? []) as Array<Json>).some((p) => p["schema"]?.["format"] === "uuid") ||
    Object.values((operation["requestBody"]?.["content"] ?? {}) as Json).some((media: Json) => hasUuid(media["schema"]))
  ).map((operation: Json) => operation["operationId"] as string)
)

describe("every route that takes a UUID, in every spelling", () => {
  it("lists them from the OpenAPI document, which still says uuid, and has a case for each", () => {
    expect(takesUuid.length).toBeGreaterThanOrEqual(16)
    expect(Object.keys(cases).sort()).toEqual([...takesUuid].sort())
  })

  it.each(Object.keys(cases).map((key) => [key]))("%s: upper-, lower- and mixed-case ids agree", async (key) => {
    const endpoint = endpoints.find((e) => e.key === key)!
    const outcomes: Record<string, unknown> = {}
    for (const [name, spell] of Object.entries(spellings)) {
      const prepared = await cases[key]!()
      for (const o of prepared.observe.filter((o) => o.method === "GET")) {
        await send(h.app(), o.method, o.path, o.who)
        await send(second, o.method, o.path, o.who)
      }
      const { params, body } = prepared.request(spell)
      const path = endpoint.path.replace(/:(\w+)/gu, (_, param: string) => params[param]!)
      const answer = await send(h.app(), endpoint.method, path, prepared.who, body)
      // (Similar designs answer 503 feature_unavailable without AI configured: never a 500.)
      expect(answer.status, `${key} ${name}: ${answer.text}`).not.toBe(500)
      const after: Array<Answer> = []
      for (const o of prepared.observe) {
        for (const app of o.sameInstance ? [h.app()] : [h.app(), second]) after.push(await send(app, o.method, o.path, o.who, o.body))
      }
      // Ids are answered in their canonical, lower-case form only.
      for (const a of [answer, ...after]) expect(nonCanonical(a.text), `${key} ${name}: ${a.text}`).toEqual([])
      outcomes[name] = { answer: normalize(answer, prepared.ids), after: after.map((a) => normalize(a, prepared.ids)) }
    }
    expect(outcomes["upper"], `${key}: upper-case ids`).toEqual(outcomes["lower"])
    expect(outcomes["mixed"], `${key}: mixed-case ids`).toEqual(outcomes["lower"])
  })
})

describe("the issue's sequences, on two instances over one PostgreSQL and Redis", () => {
  it("read a design, DELETE it with the upper-case id: reads and duplicates with the lower-case id answer 404 and charge nothing", async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const lower = design.id.toLowerCase()
    for (const app of [h.app(), second]) expect((await send(app, "GET", `/api/v1/designs/${lower}`, { token: user.token })).status).toBe(200)
    expect((await send(h.app(), "DELETE", `/api/v1/designs/${design.id.toUpperCase()}`, { token: user.token })).status).toBe(204)
    for (const app of [h.app(), second]) {
      const read = await send(app, "GET", `/api/v1/designs/${lower}`, { token: user.token })
      expect(read.status, read.text).toBe(404)
      const copy = await send(app, "POST", `/api/v1/designs/${lower}/duplicate`, { token: user.token })
      expect(copy.status, copy.text).toBe(404)
    }
    expect((await ok(h.api(user.token).subscriptions.usage())).designsCreated).toBe(1)
    expect((await ok(h.api(user.token).designs.list({ query: {} }))).data).toEqual([])
  })

  it("a mixed-case PATCH: the next reads, in any spelling and on either instance, show the new version", async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    for (const app of [h.app(), second]) await send(app, "GET", `/api/v1/designs/${design.id}`, { token: user.token })
    const patched = await send(second, "PATCH", `/api/v1/designs/${spellings.mixed(design.id)}`, { token: user.token }, { version: 1, name: "Renamed" })
    expect(patched.status, patched.text).toBe(200)
    expect(patched.body).toMatchObject({ id: design.id, version: 2, name: "Renamed" })
    for (const app of [h.app(), second]) {
      for (const spell of Object.values(spellings)) {
        const read = await send(app, "GET", `/api/v1/designs/${spell(design.id)}`, { token: user.token })
        expect(read.body, read.text).toMatchObject({ id: design.id, version: 2, name: "Renamed" })
      }
    }
  })

  it("PUT /internal/subscriptions/{USER ID} cancelling: /subscriptions/me shows it canceled on both instances and creates are refused (402)", async () => {
    const user = await newUser()
    for (const app of [h.app(), second]) {
      expect((await send(app, "GET", "/api/v1/subscriptions/me", { token: user.token })).body).toMatchObject({ status: "active" })
      expect((await send(app, "GET", "/api/v1/subscriptions/me/quota", { token: user.token })).body).toMatchObject({ allowed: true })
    }
    const set = await send(h.app(), "PUT", `/api/v1/internal/subscriptions/${user.id.toUpperCase()}`, { service: true }, { plan: "free", status: "canceled" })
    expect(set.status, set.text).toBe(200)
    for (const app of [h.app(), second]) {
      expect((await send(app, "GET", "/api/v1/subscriptions/me", { token: user.token })).body).toMatchObject({ status: "canceled" })
      expect((await send(app, "GET", "/api/v1/subscriptions/me/quota", { token: user.token })).body).toMatchObject({ allowed: false })
      const create = await send(app, "POST", "/api/v1/designs", { token: user.token }, { name: "Refused", productType: "mug", document: validDocument() })
      expect(create.status, create.text).toBe(402)
      expect(create.body).toMatchObject({ code: "subscription_inactive", subscriptionStatus: "canceled" })
    }
  })

  it("an image layer naming its asset in upper case is stored and answered with the canonical id", async () => {
    const user = await newUser()
    const design = await newDesign(user.token)
    const assetId = await completedAsset(user.token, design.id)
    const patched = await send(h.app(), "PATCH", `/api/v1/designs/${design.id}`, { token: user.token }, { version: 1, document: imageDocument(assetId.toUpperCase()) })
    expect(patched.status, patched.text).toBe(200)
    expect(patched.body.document.layers[0].assetId).toBe(assetId)
    const [row] = await h.query<{ asset: string }>("SELECT document->'layers'->0->>'assetId' AS asset FROM designs WHERE id = $1", [design.id])
    expect(row!.asset).toBe(assetId)
  })
})

describe("emails: one mailbox, one spelling", () => {
  it("registration stores the lower-case email; any spelling then finds the account, signs in and is refused as taken", async () => {
    const email = uniqueEmail()
    const shouted = `  ${email.toUpperCase()} `
    const registered = await send(h.app(), "POST", "/api/v1/auth/register", {}, { email: shouted, password: PASSWORD, fullName: "Case" })
    expect(registered.status, registered.text).toBe(201)
    expect(registered.body.user.email).toBe(email)
    const [row] = await h.query<{ email: string }>("SELECT email FROM users WHERE id = $1", [registered.body.user.id])
    expect(row!.email).toBe(email)
    const again = await send(second, "POST", "/api/v1/auth/register", {}, { email: spellings.mixed(email), password: PASSWORD, fullName: "Case" })
    expect(again.status, again.text).toBe(409)
    for (const spell of Object.values(spellings)) {
      const login = await send(second, "POST", "/api/v1/auth/login", {}, { email: spell(email), password: PASSWORD })
      expect(login.status, login.text).toBe(200)
      expect(login.body.user.id).toBe(registered.body.user.id)
    }
    const admin = await h.signUpAdmin()
    const listed = await send(h.app(), "GET", `/api/v1/admin/users?email=${encodeURIComponent(email.toUpperCase())}`, { token: admin.token })
    expect(listed.body.data.map((u: { id: string }) => u.id)).toEqual([registered.body.user.id])
  })

  it("failed sign-ins in different spellings of one email count together: the pair locks after 10, whatever the case", async () => {
    const user = await newUser()
    const spells = Object.values(spellings)
    for (let i = 0; i < 10; i++) {
      const wrong = await send(i % 2 === 0 ? h.app() : second, "POST", "/api/v1/auth/login", {}, { email: spells[i % 3]!(user.email), password: `wrong password ${i}` })
      expect(wrong.status, wrong.text).toBe(401)
    }
    for (const spell of spells) {
      const locked = await send(h.app(), "POST", "/api/v1/auth/login", {}, { email: spell(user.email), password: PASSWORD })
      expect(locked.status, locked.text).toBe(429)
    }
  })
})
