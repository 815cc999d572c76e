import { ByteSize, Effect, Exit, Scope } from "effect"
import { OpenApi } from "effect/http-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"
import { isRateLimitExempt } from "../../src/api/Gateway.ts"
import { problemType } from "../../src/api/Problems.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { driftsOf } from "../support/contract.ts"
import { client } from "../support/http.ts"

/**
 * The document is exact: what the pipeline answers around every operation is declared on each
 * of them, one problem `type` per `code`, integers as integers. (Every response of the HTTP
 * suites is checked against it by test/support/contract.ts; this file checks the document's
 * shape and that the check itself catches drifts.)
 */

type Json = Record<string, any>
const spec = OpenApi.fromApi(CoreApi) as unknown as Json
const operations = Object.entries(spec["paths"] as Json).flatMap(([path, byMethod]) =>
  Object.entries(byMethod as Json).map(([method, operation]) => ({ path, method, operation: operation as Json }))
)

const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config: { maxBodySize: ByteSize.kibibytes(1) } })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})
/** Raw requests: each answer is checked against the document by the client itself. */
const call = client(() => app)

describe("the OpenAPI document", () => {
  it("declares on every operation what the pipeline may answer around it", () => {
    for (const { method, operation, path } of operations) {
      const statuses = Object.keys(operation["responses"])
      const expected = ["400", "404", "405", "413", "414", "500", "503"]
      if (!isRateLimitExempt(path)) expected.push("429")
      if (operation["requestBody"] !== undefined) expected.push("415")
      expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(expected))
      expect(operation["responses"]["405"], `${method} ${path}`).toEqual({ $ref: "#/components/responses/MethodNotAllowed" })
    }
    expect(Object.keys(spec["components"]["responses"])).toEqual(["RouteNotFound", "MethodNotAllowed"])
  })

  it("gives each problem code one type, wherever it is raised", () => {
    const problems = Object.entries(spec["components"]["schemas"] as Json).filter(([, schema]) =>
      (schema as Json)["properties"]?.["type"] !== undefined && (schema as Json)["properties"]?.["code"] !== undefined
    )
    expect(problems.length).toBeGreaterThan(20)
    const typesOfCode = new Map<string, Set<string>>()
    const grouped: Array<string> = []
    /** The type a code's problem carries: its own, or its group's. */
    const typeCodeOf = (code: string) =>
      ({ token_expired: "unauthorized", session_revoked: "unauthorized", too_many_assets: "upload_limit_reached", too_many_pending_uploads: "upload_limit_reached" } as Record<string, string>)[code] ?? code
    for (const [name, schema] of problems as Array<[string, Json]>) {
      const codes = (schema["properties"]["code"]["enum"] ?? [schema["properties"]["code"]["const"]]) as Array<string>
      const types = (schema["properties"]["type"]["enum"] ?? [schema["properties"]["type"]["const"]]) as Array<string>
      expect(types.length, name).toBe(1)
      // Two problems group codes under one type (ADR 0017); every other one is typed by its code.
      if (codes.length === 1) expect(types[0], name).toBe(problemType(codes[0]!))
      else expect(types[0], name).toMatch(/^urn:customify:problem:[a-z_]+$/u)
      for (const code of codes) typesOfCode.set(code, new Set([...(typesOfCode.get(code) ?? []), types[0]!]))
      if (codes.length > 1) grouped.push(name.replace(/Encoded$/u, ""))
    }
    expect(grouped.sort()).toEqual(["Unauthorized", "UploadLimitReached"])
    for (const [code, types] of typesOfCode) expect([...types], code).toEqual([problemType(typeCodeOf(code))])
  })

  it("documents integer query parameters as integers with their bounds", () => {
    const limits = operations.flatMap(({ operation }) =>
      ((operation["parameters"] ?? []) as Array<Json>).filter((p) => p["in"] === "query" && p["name"] === "limit")
    )
    expect(limits.length).toBeGreaterThanOrEqual(4)
    for (const limit of limits) {
      expect(limit["schema"]).toMatchObject({ type: "integer", format: "int32", minimum: 1, maximum: expect.any(Number) })
    }
  })

  it("says a body whose members are all optional may be left out", () => {
    const render = spec["paths"]["/api/v1/designs/{id}/render"]["post"]
    expect(render["requestBody"]["required"]).toBe(false)
    expect(spec["paths"]["/api/v1/designs"]["post"]["requestBody"]["required"]).toBe(true)
  })
})

describe("the router's and the gateway's answers", () => {
  it("answer an unknown route with the same not_found problem as a missing design", async () => {
    const result = await call("GET", "/api/v1/nowhere")
    expect(result.status).toBe(404)
    expect(result.headers.get("content-type")).toBe("application/problem+json")
    expect(result.body).toMatchObject({ type: "urn:customify:problem:not_found", code: "not_found", title: "Not found", status: 404 })
  })

  it("answer a wrong method with 405 method_not_allowed and Allow", async () => {
    const result = await call("PUT", "/api/v1/designs")
    expect(result.status).toBe(405)
    expect(result.body).toMatchObject({ type: "urn:customify:problem:method_not_allowed", code: "method_not_allowed" })
    expect(result.headers.get("allow")).toBe("GET, HEAD, POST")
  })

  it("answer 413, 414 and 415 with their own problem types", async () => {
    const tooLarge = await call("POST", "/api/v1/auth/login", { body: { email: "a@example.com", password: "x".repeat(2000) } })
    expect(tooLarge.body).toMatchObject({ status: 413, type: problemType("payload_too_large") })
    const tooLong = await call("GET", `/api/v1/designs?cursor=${"a".repeat(9000)}`)
    expect(tooLong.body).toMatchObject({ status: 414, type: problemType("uri_too_long") })
    const text = await call("POST", "/api/v1/auth/login", { headers: { "content-type": "text/plain" } })
    expect(text.body).toMatchObject({ status: 415, type: problemType("unsupported_media_type") })
  })
})

describe("the contract check", () => {
  const headers = (values: Record<string, string> = {}) =>
    new Headers({ "content-type": "application/problem+json", "x-request-id": "request-0001", ...values })
  const notFound = JSON.stringify({ type: problemType("not_found"), title: "Not found", status: 404, code: "not_found" })
  const get = (path: string, status: number, text: string, values?: Record<string, string>) =>
    driftsOf({ method: "GET", path, status, headers: headers(values), text })

  it("accepts a declared answer", () => {
    expect(get("/api/v1/designs/3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a", 404, notFound)).toEqual([])
    expect(get("/api/v1/nowhere", 404, notFound)).toEqual([])
  })

  it("finds an undeclared status, a body off its schema, a wrong media type, a missing header", () => {
    expect(get("/api/v1/designs/3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a", 418, notFound)).toEqual([expect.stringMatching(/status 418 is not declared/)])
    expect(get("/api/v1/nowhere", 404, notFound.replace("urn:customify:problem:not_found", "about:blank")))
      .toEqual([expect.stringMatching(/^body:/)])
    expect(get("/api/v1/nowhere", 404, notFound, { "content-type": "application/json" }))
      .toEqual([expect.stringMatching(/media type "application\/json" is not declared/)])
    const limited = JSON.stringify({ type: problemType("rate_limited"), title: "Too many requests", status: 429, code: "rate_limited" })
    expect(get("/api/v1/designs", 429, limited)).toEqual([expect.stringMatching(/Retry-After is declared required and missing/)])
    expect(get("/api/v1/designs", 429, limited, { "retry-after": "soon" })).toEqual([expect.stringMatching(/^header Retry-After/)])
    expect(get("/api/v1/designs", 429, limited, { "retry-after": "3" })).toEqual([])
  })

  it("wants no body on a 204 or a 304, and skips what is served beside the document", () => {
    const deleted = (text: string) =>
      driftsOf({ method: "DELETE", path: "/api/v1/designs/3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a", status: 204, headers: headers(), text })
    expect(deleted("")).toEqual([])
    expect(deleted("{}")).toEqual([expect.stringMatching(/a body where none is declared/)])
    expect(get("/docs", 200, "<html>")).toBeUndefined()
    expect(get("/uploads/x", 200, "")).toBeUndefined()
  })
})
