import { createHash, randomUUID } from "node:crypto"
import { Effect, Layer, Ref } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { JobQueue } from "../../src/capabilities/queue/JobQueue.ts"
import { routeTable, routesBesideTheApi } from "../../src/app/Server.ts"
import type { Job } from "../../src/domain/Jobs.ts"
import { makeTestApp } from "../support/app.ts"
import { validDocument } from "../support/http.ts"
import { asSent, bodyFor, endpoints, expectProblem, fillPath, LEAKS, securityHarness, type Sent } from "../support/security.ts"
import { attempt, failureAndResponse, ok } from "../support/typedClient.ts"

/**
 * OWASP API3 (object property level authorization: mass assignment, excessive data exposure),
 * API4 (unrestricted resource consumption), API8 (security misconfiguration) and API9
 * (improper inventory management).
 */
const jobs = Effect.runSync(Ref.make<ReadonlyArray<Job>>([]))
const RecordingQueue = Layer.succeed(JobQueue, {
  kind: "memory",
  description: "recording",
  enqueue: (job) => Ref.update(jobs, (all) => [...all, job]),
  depth: Effect.succeed(0),
  consume: () => Effect.never,
  prune: () => Effect.void
})

const h = securityHarness({ overrides: RecordingQueue })
beforeAll(h.start)
afterAll(h.stop)

/** Refresh tokens the server issued in this file (only the issuing responses may carry them). */
const issuedRefreshTokens: Array<string> = []
const ISSUING = new Set(["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh"])

const signUp = async () => {
  const user = await h.signUp()
  issuedRefreshTokens.push(user.refreshToken)
  return user
}

const createDesign = (token: string, name: string) =>
  ok(h.api(token).designs.create({ payload: { name, productType: "mug", document: validDocument() } }), 201)

describe("API3: mass assignment", () => {
  const writes = endpoints.filter((e) => e.hasPayload)
  const LEGITIMATE: Record<string, ReadonlyArray<string>> = { "admin.updateUser": ["role"] }
  const EXTRAS: ReadonlyArray<[string, unknown]> = [["role", "admin"], ["ownerId", randomUUID()], ["plan", "enterprise"], ["isAdmin", true]]

  it("finds every write endpoint with a payload in the HttpApi definition", () => {
    expect(writes.map((e) => e.key)).toEqual(expect.arrayContaining(["designs.create", "designs.update", "me.update", "internal.upsertOrder", "auth.register"]))
    for (const endpoint of writes) expect(() => bodyFor(endpoint), endpoint.key).not.toThrow()
  })

  it("refuses a valid body with one extra property (role, ownerId, plan, isAdmin) on every write endpoint, naming it", async () => {
    const user = await signUp()
    const admin = await h.signUpAdmin()
    issuedRefreshTokens.push(admin.refreshToken)
    const bystander = await signUp()
    const design = await createDesign(user.token, "Mine")
    // Raw: every write endpoint found by reflection, with a property the typed client refuses to send.
    for (const endpoint of writes) {
      for (const [property, value] of EXTRAS) {
        const base = bodyFor(endpoint) as Record<string, unknown>
        // A declared field is not extra (the service sets plans; an administrator sets roles).
        if (property in base || LEGITIMATE[endpoint.key]?.includes(property)) continue
        const credentials = endpoint.auth === "service"
          ? { serviceKey: "security-suite-service-key-0123456789abcdef" }
          : endpoint.auth === "user"
          ? { token: endpoint.group === "admin" ? admin.token : user.token }
          : {}
        const path = fillPath(endpoint.path, { id: endpoint.group === "admin" ? bystander.id : design.id, userId: bystander.id })
        const result = await h.call(endpoint.method, path, { ...credentials, body: { ...base, [property]: value } })
        const context = `${endpoint.key} + ${property}: ${result.text.slice(0, 300)}`
        expect(result.status, context).toBe(400)
        expectProblem(result, context)
        expect(result.body.code, context).toBe("validation_failed")
        // Only the extra property is wrong: the rest of the body was valid.
        expect(result.body.errors, context).toEqual([expect.objectContaining({ path: property, location: "body" })])
      }
    }
    // Nothing was applied anywhere.
    for (const who of [user, bystander]) {
      expect(await ok(h.api(who.token).me.get())).toMatchObject({ role: "user", fullName: "Security Test" })
      expect((await ok(h.api(who.token).subscriptions.get())).plan).toBe("free")
    }
    expect(await ok(h.api(user.token).designs.get({ params: { id: design.id } }))).toMatchObject({ version: 1, name: "Mine" })
  })

  it("refuses version tricks on a design update with 400 and leaves the design untouched", async () => {
    const user = await signUp()
    const designs = h.api(user.token).designs
    const design = await createDesign(user.token, "Versioned")
    // Raw: versions of the wrong type or range, which the typed client refuses to send.
    for (const version of [-1, 0, "1", 1.5, 1e20, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, "1; DROP TABLE designs", null, true, [1], { $gt: 0 }]) {
      const result = await h.call("PATCH", `/api/v1/designs/${design.id}`, { token: user.token, body: { version, name: "Tricked" } })
      const context = `version ${JSON.stringify(version)}: ${result.text.slice(0, 200)}`
      // 2^31 and beyond are well-formed integers: a stale version (409) is the right answer for them.
      if (typeof version === "number" && Number.isSafeInteger(version) && version > 1) expect(result.status, context).toBe(409)
      else {
        expect(result.status, context).toBe(400)
        expect(result.body.errors, context).toEqual([expect.objectContaining({ path: "version" })])
      }
      expectProblem(result, context)
    }
    for (const ifMatch of ["-1", "0", "1.5", "abc", "\"\"", "W/\"1\"x", "99999999999999999999999", "*"]) {
      const { response } = await failureAndResponse(designs.update({ params: { id: design.id }, headers: { "if-match": ifMatch }, payload: { name: "Tricked" } }))
      const result = asSent(response)
      const context = `If-Match ${ifMatch}: ${result.text.slice(0, 200)}`
      expect([400, 409, 412], context).toContain(result.status)
      expectProblem(result, context)
    }
    expect(await ok(designs.get({ params: { id: design.id } }))).toMatchObject({ name: "Versioned", version: 1 })
  })
})

describe("API4: resource consumption", () => {
  let token: string
  beforeAll(async () => {
    token = (await signUp()).token
  })

  it("refuses a body over 1 MiB with 413", async () => {
    const body = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10), productType: "mug", document: validDocument() })
    const result = await h.raw("POST", "/api/v1/designs", {
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) },
      body
    })
    expect(result.status).toBe(413)
    expectProblem(result)
    expect(result.text.length).toBeLessThan(2_000)
  })

  // Raw: documents the typed client refuses to send.
  it("refuses a 10,000-layer document (valid-shaped or empty layers) quickly with a 4xx problem", async () => {
    const layer = (i: number) => ({ id: `l${i}`, type: "shape", x: 0, y: 0, width: 1, height: 1, rotation: 0, opacity: 1, zIndex: 0, shape: "rect", fill: null, stroke: null })
    const valid = { name: "Layers", productType: "mug", document: { ...validDocument(), layers: Array.from({ length: 10_000 }, (_, i) => layer(i)) } }
    const started = performance.now()
    const big = await h.call("POST", "/api/v1/designs", { token, body: valid })
    expect(performance.now() - started).toBeLessThan(5_000)
    expect([400, 413], big.text.slice(0, 200)).toContain(big.status)
    expectProblem(big)

    // Small but all invalid: 10,000 empty layers fit in the body limit and must still be cheap to refuse.
    const started2 = performance.now()
    const empty = await h.call("POST", "/api/v1/designs", { token, body: { name: "Layers", productType: "mug", document: { ...validDocument(), layers: Array.from({ length: 10_000 }, () => ({})) } } })
    expect(performance.now() - started2).toBeLessThan(5_000)
    expect(empty.status).toBe(400)
    expectProblem(empty)
    expect(empty.body.code).toBe("validation_failed")
  })

  it("refuses list limits beyond the maximum (limit=100000) with 400 on every list", async () => {
    const lists = endpoints.filter((e) => e.method === "GET" && e.query.includes("limit"))
    expect(lists.length).toBeGreaterThanOrEqual(4)
    const admin = await h.signUpAdmin()
    issuedRefreshTokens.push(admin.refreshToken)
    const design = await createDesign(token, "L")
    // Raw: every list found by reflection, with limits the typed client refuses to send.
    for (const endpoint of lists) {
      for (const limit of ["100000", "1e9", "-1", "Infinity", "NaN"]) {
        const path = `${fillPath(endpoint.path, { id: design.id })}?limit=${limit}`
        const result = await h.call("GET", path, { token: endpoint.group === "admin" ? admin.token : token })
        expect(result.status, `${path}: ${result.text.slice(0, 200)}`).toBe(400)
        expectProblem(result)
        expect(result.body.errors[0]).toMatchObject({ path: "limit", location: "query" })
      }
    }
  })

  it("survives JSON nested 10,000 and 100,000 levels deep with a 4xx problem", async () => {
    for (const depth of [10_000, 100_000]) {
      for (const [open, close] of [["[", "]"], ["{\"a\":", "}"]] as const) {
        const nested = `${open.repeat(depth)}1${close.repeat(depth)}`
        for (const body of [`{"name":${nested},"productType":"mug","document":{}}`, nested]) {
          const started = performance.now()
          const result = await h.raw("POST", "/api/v1/designs", {
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body
          })
          const context = `depth ${depth} ${open}: ${result.status} ${result.text.slice(0, 200)}`
          expect(result.status, context).toBeGreaterThanOrEqual(400)
          expect(result.status, context).toBeLessThan(500)
          expectProblem(result, context)
          expect(performance.now() - started, context).toBeLessThan(5_000)
        }
      }
    }
    // The process is still answering.
    await ok(h.api(token).me.get(), 200)
  })

  // Raw: names longer than the typed client sends.
  it("refuses a 1 MB string in name with 400 or 413", async () => {
    for (const size of [1_000_000, 250]) {
      const result = await h.call("POST", "/api/v1/designs", { token, body: { name: "n".repeat(size), productType: "mug", document: validDocument() } })
      expect([400, 413], `${size}`).toContain(result.status)
      expectProblem(result)
      expect(result.text.length, "the error does not echo the input").toBeLessThan(5_000)
    }
  })
})

describe("API8: security misconfiguration", () => {
  it("answers TRACE, CONNECT, TRACK, PROPFIND and made-up methods on known paths with a 404/405 problem", async () => {
    const user = await signUp()
    const paths = ["/api/v1/designs", `/api/v1/designs/${randomUUID()}`, "/api/v1/users/me", "/health", "/openapi.json", "/api/v1/internal/orders/shopify:1", "/nowhere"]
    for (const method of ["TRACE", "CONNECT", "TRACK", "PROPFIND", "MKCOL", "FOO", "SEARCH", "PURGE"]) {
      for (const path of paths) {
        const result = await h.raw(method, path, { forcedMethod: method, headers: { authorization: `Bearer ${user.token}` } })
        const context = `${method} ${path}: ${result.status} ${result.text.slice(0, 200)}`
        expect([404, 405, 501], context).toContain(result.status)
        expectProblem(result, context)
        // TRACE must never echo the request (cross-site tracing): no Authorization in the body.
        expect(result.text, context).not.toContain(user.token)
        if (result.status === 405) expect(result.headers.get("allow"), context).toBeTruthy()
      }
    }
  })

  it("grants no CORS headers to unlisted origins (preflight and actual requests)", async () => {
    const app = makeTestApp({ config: { corsOrigins: ["https://shop.example.com"] } })
    try {
      for (const origin of ["https://evil.example.com", "null", "https://shop.example.com.evil.com", "https://evil.com/https://shop.example.com"]) {
        for (const [method, headers] of [
          ["GET", { origin }],
          ["OPTIONS", { origin, "access-control-request-method": "DELETE", "access-control-request-headers": "authorization" }]
        ] as const) {
          const response = await app.handler(new Request("http://test/api/v1/users/me", { method, headers }))
          await response.text()
          for (const name of ["access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods", "access-control-allow-headers"]) {
            expect(response.headers.get(name), `${origin} ${method} ${name}`).toBeNull()
          }
        }
      }
    } finally {
      await app.dispose()
    }
  })

  it("shows no internals (stack frames, SQL, module paths, error names) in any error body of this file", () => {
    const errors = h.seen.filter((s) => s.status >= 400)
    expect(errors.length).toBeGreaterThan(100)
    for (const sent of errors) {
      for (const leak of LEAKS) expect(sent.text, `${sent.method} ${sent.path.slice(0, 80)} ${sent.status}`).not.toMatch(leak)
    }
    expect(errors.filter((s) => s.status >= 500).map((s) => `${s.method} ${s.path.slice(0, 80)} ${s.status}`)).toEqual([])
  })
})

describe("API9: inventory", () => {
  it("documents every served route and serves every documented operation", async () => {
    const spec = (await h.raw("GET", "/openapi.json")).body as { paths: Record<string, Record<string, unknown>> }
    const documented = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{(\w+)\}/g, ":$1") })))
    const served = routeTable.routes.filter((r) => !routesBesideTheApi.some((e) => e.method === r.method && e.path === r.path))
    expect(documented.map((r) => `${r.method} ${r.path}`).sort()).toEqual(served.map((r) => `${r.method} ${r.path}`).sort())
    const user = await signUp()
    for (const operation of documented) {
      const result = await h.call(operation.method, fillPath(operation.path), { token: user.token })
      const unrouted = result.status === 404 && /no route/i.test(result.body?.detail ?? "")
      expect(unrouted, `${operation.method} ${operation.path} is documented but not routed`).toBe(false)
      expect(result.status, `${operation.method} ${operation.path}`).not.toBe(405)
    }
  })

  it("serves nothing undocumented: old versions, debug and admin-looking paths are unrouted 404s", async () => {
    for (const path of ["/api/v2/designs", "/api/v0/designs", "/api/designs", "/api/v1/debug", "/api/v1/users", "/admin", "/.env", "/api/v1/internal", "/api/v1/admin", "/swagger.json", "/api/v1/openapi.json", "/graphql"]) {
      const result = await h.raw("GET", path)
      expect(result.status, path).toBe(404)
      expectProblem(result)
    }
  })
})

describe("API3: excessive data exposure", () => {
  it("never sends a password hash, password_hash, a refresh token (outside its issuing answer) or a reset token", async () => {
    // Exercise the flows that handle secrets, so that the bodies below include their answers.
    const user = await signUp()
    const auth = h.api().auth
    await attempt(auth.requestPasswordReset({ payload: { email: user.email } }))
    const resetTokens = (await Effect.runPromise(Ref.get(jobs)))
      .flatMap((job) => job._tag === "email.password_reset" ? [job.token] : [])
    expect(resetTokens.length).toBeGreaterThan(0)
    // Raw: bodies with a property the typed client refuses to send.
    await h.call("POST", "/api/v1/auth/password-reset/confirm", { body: { token: resetTokens[0], newPassword: "brand new secret", extra: 1 } })
    await h.call("POST", "/api/v1/auth/refresh", { body: { refreshToken: user.refreshToken, role: "admin" } })
    await attempt(auth.refresh({ payload: { refreshToken: `${user.refreshToken}x` } }))
    const refreshed = await attempt(auth.refresh({ payload: { refreshToken: user.refreshToken } }))
    if (refreshed._tag === "Success") issuedRefreshTokens.push(refreshed.value.tokens.refreshToken)
    await h.call("POST", "/api/v1/auth/login", { body: { email: user.email, password: "wrong password", passwordHash: "x" } })
    await attempt(h.api(user.token).me.get())

    const bodies: ReadonlyArray<Sent> = h.seen
    expect(bodies.length).toBeGreaterThan(200)
    const sha = (value: string) => [createHash("sha256").update(value).digest("hex"), createHash("sha256").update(value).digest("base64url")]
    for (const sent of bodies) {
      const context = `${sent.method} ${sent.path.slice(0, 80)} ${sent.status}`
      expect(sent.text, context).not.toMatch(/\$2[aby]\$/)
      expect(sent.text, context).not.toContain("password_hash")
      for (const token of resetTokens) {
        expect(sent.text, `${context}: reset token`).not.toContain(token)
        for (const hash of sha(token)) expect(sent.text, `${context}: reset token hash`).not.toContain(hash)
      }
      for (const token of issuedRefreshTokens) {
        for (const hash of sha(token)) expect(sent.text, `${context}: refresh token hash`).not.toContain(hash)
        if (sent.status < 300 && ISSUING.has(sent.path)) continue
        expect(sent.text, `${context}: refresh token`).not.toContain(token)
        // Nor its secret half alone.
        expect(sent.text, `${context}: refresh token secret`).not.toContain(token.split(".").at(-1))
      }
    }
  })
})
