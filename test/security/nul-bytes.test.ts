import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { requestStrings } from "../support/requestStrings.ts"
import { validDocument } from "../support/http.ts"
import { endpoints, PASSWORD, securityHarness, SERVICE_KEY, type Sent } from "../support/security.ts"
import { ok } from "../support/typedClient.ts"

/**
 * NUL (U+0000) in any string the API accepts: PostgreSQL stores it in neither text nor jsonb, so
 * it must be refused as input (400 `validation_failed` naming the field), never reach a statement
 * (500). Every string field of every body, every query parameter and every path parameter, read
 * from the HttpApi definition (test/support/requestStrings.ts), on the real app over PostgreSQL.
 */
const h = securityHarness()
let user: Awaited<ReturnType<typeof h.signUp>>
let admin: Awaited<ReturnType<typeof h.signUpAdmin>>
let designId = ""
beforeAll(async () => {
  await h.start()
  user = await h.signUp()
  admin = await h.signUpAdmin()
  designId = (await ok(h.api(user.token).designs.create({ payload: { name: "Nul", productType: "mug", document: validDocument() } }), 201)).id
})
afterAll(h.stop)

/** Every kind of layer, so that every string of a document has a value. */
const fullDocument = () => ({
  ...validDocument(),
  layers: [
    ...validDocument().layers,
    { id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 2, assetId: randomUUID() },
    { id: "box", type: "shape", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 3, shape: "rect", fill: "#ff0000", stroke: "#00ff00" }
  ]
})

/** A body per write endpoint with every optional string present. */
const fullBodies: Record<string, () => unknown> = {
  "auth.register": () => ({ email: "nul@example.com", password: PASSWORD, fullName: "Nul Byte" }),
  "auth.login": () => ({ email: "nul@example.com", password: PASSWORD }),
  "auth.refresh": () => ({ refreshToken: "not-a-real-refresh-token" }),
  "auth.requestPasswordReset": () => ({ email: "nul@example.com" }),
  "auth.confirmPasswordReset": () => ({ token: "not-a-real-reset-token", newPassword: "another secret 1" }),
  "me.update": () => ({ fullName: "Nul Byte", avatarUrl: "https://cdn.example.com/a.png" }),
  "me.changePassword": () => ({ currentPassword: PASSWORD, newPassword: "another secret 1" }),
  "me.delete": () => ({ password: PASSWORD }),
  "admin.updateUser": () => ({ role: "user", disabled: false }),
  "designs.create": () => ({ name: "Nul mug", productType: "mug", document: fullDocument(), status: "draft" }),
  "designs.update": () => ({ version: 1, name: "Nul mug", document: fullDocument(), status: "draft" }),
  "assets.requestUpload": () => ({ fileName: "logo.png", contentType: "image/png", byteSize: 68 }),
  "jobs.render": () => ({ kind: "render" }),
  "internal.upsertOrder": () => ({ userId: user.id, designId, status: "paid", quantity: 1, totalCents: 100, currency: "EUR" }),
  "internal.setSubscription": () => ({ plan: "free", status: "active" }),
  "internal.reportJob": () => ({ status: "failed", resultUrl: "https://cdn.example.com/r.png", error: "Render engine crashed" }),
  "ai.suggest": () => ({ productType: "mug", prompt: "a cat in space", style: "minimal" })
}

type Path = ReadonlyArray<string | number>

/** Where the strings of a JSON value are. */
const stringPaths = (value: unknown, path: Path = []): Array<Path> =>
  typeof value === "string"
    ? [path]
    : Array.isArray(value)
    ? value.flatMap((v, i) => stringPaths(v, [...path, i]))
    : value !== null && typeof value === "object"
    ? Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...path, k]))
    : []

/** The schema's spelling of a path: array indices as `*`. */
const pattern = (path: Path) => path.map((p) => typeof p === "number" ? "*" : p).join(".")

const withNul = (value: string) => `${value.slice(0, 2)}\u0000${value.slice(2)}`

const credentials = (key: string): Record<string, string> => {
  const endpoint = endpoints.find((e) => e.key === key)!
  if (endpoint.auth === "service") return { "x-service-key": SERVICE_KEY }
  if (endpoint.auth === "user") return { authorization: `Bearer ${endpoint.group === "admin" ? admin.token : user.token}` }
  return {}
}

const pathParams: Record<string, () => string> = {
  id: () => designId,
  assetId: () => randomUUID(),
  jobId: () => randomUUID(),
  userId: () => user.id,
  externalId: () => "shopify:nul-test",
  sessionId: () => "s".repeat(22)
}

const fill = (path: string, values: Record<string, string> = {}) =>
  path.replace(/:(\w+)/gu, (_, name: string) => values[name] ?? pathParams[name]!())

/**
 * A 400 validation_failed naming `path` at `location`; for a string field, saying why. A literal
 * (a status, a layer's `type`) is refused as not one of its values: at its path, or for the tag
 * of a union at the union's.
 */
const expectRefused = (result: Sent, path: string, location: string, context: string, nulMessage: boolean) => {
  expect(result.status, `${context}: ${result.text}`).toBe(400)
  expect(result.body.code, context).toBe("validation_failed")
  const accepted = nulMessage ? [path] : [path, path.split(".").slice(0, -1).join(".")]
  const named = (result.body.errors as Array<{ path: string; location: string; message: string }>)
    .filter((e) => accepted.includes(e.path) && e.location === location)
  expect(named.length, `${context}: ${result.text}`).toBeGreaterThan(0)
  if (nulMessage) expect(named.map((e) => e.message).join(" "), context).toMatch(/NUL/u)
}

describe("NUL in any string the API accepts", () => {
  const strings = requestStrings()

  it("has a full body for every write endpoint, with a value for every string field its schema declares", () => {
    const writes = endpoints.filter((e) => e.hasPayload).map((e) => e.key)
    expect(Object.keys(fullBodies).sort()).toEqual(writes.sort())
    for (const key of writes) {
      const declared = strings.filter((s) => s.key === key && s.location === "body").map((s) => s.path)
      const given = new Set(stringPaths(fullBodies[key]!()).map(pattern))
      expect(declared.filter((p) => !given.has(p)), key).toEqual([])
    }
  })

  it.each(endpoints.filter((e) => e.hasPayload).map((e) => [e.key, e] as const))("%s: every string of the body", async (key, endpoint) => {
    const declared = new Set(strings.filter((s) => s.key === key && s.location === "body").map((s) => s.path))
    for (const path of stringPaths(fullBodies[key]!())) {
      const body = structuredClone(fullBodies[key]!()) as any
      let at = body
      for (const step of path.slice(0, -1)) at = at[step]
      at[path.at(-1)!] = withNul(at[path.at(-1)!])
      const result = await h.raw(endpoint.method, fill(endpoint.path), {
        headers: { ...credentials(key), "content-type": "application/json" },
        body: JSON.stringify(body)
      })
      // Literals (a status, a content type) are refused as not one of theirs; text as NUL.
      expectRefused(result, path.join("."), "body", `${key} ${path.join(".")}`, declared.has(pattern(path)))
    }
  })

  it.each(endpoints.filter((e) => e.query.length > 0).map((e) => [e.key, e] as const))("%s: every query parameter", async (key, endpoint) => {
    for (const name of endpoint.query) {
      const value = name === "limit" ? "10" : name === "productType" ? "mug" : name === "status" ? "draft" : "nul@example.com"
      const result = await h.raw("GET", `${fill(endpoint.path)}?${name}=${encodeURIComponent(withNul(value))}`, { headers: credentials(key) })
      expectRefused(result, name, "query", `${key} ?${name}`, strings.some((s) => s.key === key && s.location === "query" && s.path === name))
    }
  })

  it.each(endpoints.filter((e) => e.params.length > 0).map((e) => [e.key, e] as const))("%s: every path parameter", async (key, endpoint) => {
    for (const name of endpoint.params) {
      const path = fill(endpoint.path, { [name]: encodeURIComponent(withNul(pathParams[name]!())) })
      const body = endpoint.hasPayload ? JSON.stringify(fullBodies[key]!()) : undefined
      const result = await h.raw(endpoint.method, path, {
        headers: { ...credentials(key), ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body })
      })
      expectRefused(result, name, "path", `${key} :${name}`, true)
    }
  })

  it("the admin search by email prefix and the users in it: a NUL is refused before any SQL", async () => {
    const result = await h.raw("GET", `/api/v1/admin/users?email=${encodeURIComponent("a\u0000")}`, { headers: credentials("admin.listUsers") })
    expectRefused(result, "email", "query", "admin email prefix", true)
    // And the search still works with the same spelling any other way.
    const found = await h.raw("GET", `/api/v1/admin/users?email=${encodeURIComponent(user.email.toUpperCase())}`, { headers: credentials("admin.listUsers") })
    expect(found.body.data.map((u: { id: string }) => u.id)).toEqual([user.id])
  })
})
