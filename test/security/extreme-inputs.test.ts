import { randomUUID } from "node:crypto"
import { OpenApi } from "effect/http-api"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"
import { validDocument } from "../support/http.ts"
import { endpoints, expectProblem, securityHarness, SERVICE_KEY, type Sent } from "../support/security.ts"
import { ok } from "../support/typedClient.ts"

/**
 * Values that are well-formed but absurd, where the server turns text into numbers and dates:
 * every keyset cursor (forged with out-of-range, non-finite and ill-typed dates, malformed ids,
 * any other shape) and every numeric input (query strings and JSON bodies) fuzzed with extreme
 * finite and non-finite values. Never a 5xx: a 4xx problem+json (`invalid_cursor` for a cursor
 * no page produced) or a correct page. Real PostgreSQL and Redis.
 */
const h = securityHarness()
let user: Awaited<ReturnType<typeof h.signUp>>
let admin: Awaited<ReturnType<typeof h.signUpAdmin>>
let designId = ""
/** The user's designs and orders, newest first: what a page must show. */
let designs: ReadonlyArray<{ readonly id: string; readonly createdAt: number }> = []
let orders: ReadonlyArray<{ readonly id: string; readonly createdAt: number }> = []

beforeAll(async () => {
  await h.start()
  user = await h.signUp()
  admin = await h.signUpAdmin()
  for (let i = 0; i < 5; i++) {
    const design = await ok(h.api(user.token).designs.create({ payload: { name: `Page ${i}`, productType: "mug", document: validDocument() } }), 201)
    designId = design.id
    const order = await h.call("PUT", `/api/v1/internal/orders/shopify:extreme-${i}`, {
      serviceKey: SERVICE_KEY,
      body: { userId: user.id, designId: design.id, status: "paid", quantity: 1, totalCents: 100, currency: "EUR" }
    })
    expect(order.status, order.text).toBeLessThan(300)
  }
  const byNewest = (rows: Array<{ id: string; createdAt: string }>) =>
    rows.map((r) => ({ id: r.id, createdAt: Date.parse(r.createdAt) }))
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
  designs = byNewest((await h.call("GET", "/api/v1/designs?limit=100", { token: user.token })).body.data)
  orders = byNewest((await h.call("GET", "/api/v1/orders?limit=100", { token: user.token })).body.data)
  expect(designs).toHaveLength(5)
  expect(orders).toHaveLength(5)
})
afterAll(h.stop)

const RUNS = 150

const checkAnswer = (result: Sent) => {
  const context = `${result.method} ${result.path.slice(0, 200)}: ${result.status} ${result.text.slice(0, 300)}`
  expect(result.status, context).toBeLessThan(500)
  if (result.status >= 400) expectProblem(result, context)
  return context
}

const base64url = (text: string) => Buffer.from(text, "utf8").toString("base64url")

// ---- The inventory, from the OpenAPI document --------------------------------------------------

type Json = Record<string, any>
const spec = OpenApi.fromApi(CoreApi) as unknown as Json
const operations = Object.values(spec["paths"] as Json).flatMap((ops) => Object.values(ops as Json)) as Array<Json>
const queryParameters = (name: (parameter: Json) => boolean) =>
  operations.flatMap((operation) =>
    ((operation["parameters"] ?? []) as Array<Json>)
      .filter((p) => p["in"] === "query" && name(p))
      .map((p) => ({ key: operation["operationId"] as string, name: p["name"] as string })))

const cursorInputs = queryParameters((p) => p["name"] === "cursor")
/** Query strings the server reads as numbers: digits-only patterns (`limit`). */
const numericQueryInputs = queryParameters((p) => String(p["schema"]?.["pattern"] ?? "").startsWith("^[0-9]"))

const hasNumber = (schema: Json | undefined, seen = new Set<string>()): boolean => {
  if (schema === undefined || schema === null || typeof schema !== "object") return false
  if (typeof schema["$ref"] === "string") {
    const ref = schema["$ref"] as string
    if (seen.has(ref)) return false
    seen.add(ref)
    return hasNumber(spec["components"]["schemas"][ref.replace("#/components/schemas/", "")], seen)
  }
  if (schema["type"] === "number" || schema["type"] === "integer") return true
  return [
    ...Object.values((schema["properties"] ?? {}) as Json),
    schema["items"],
    ...((schema["anyOf"] ?? []) as Array<Json>),
    ...((schema["oneOf"] ?? []) as Array<Json>),
    ...((schema["allOf"] ?? []) as Array<Json>)
  ].some((s) => hasNumber(s, seen))
}
const numericBodies = operations
  .filter((operation) => Object.values((operation["requestBody"]?.["content"] ?? {}) as Json).some((media: Json) => hasNumber(media["schema"])))
  .map((operation) => operation["operationId"] as string)

// ---- Extreme values ------------------------------------------------------------------------------

/** Number tokens as JSON text may carry them (1e400 parses to Infinity, 1e-400 to 0). */
const EXTREME_NUMBERS = [
  "1e20", "-1e20", "1e16", "-1e16", "8640000000000000", "8640000000000001", "-8640000000000001", "1e400", "-1e400",
  "1e-400", "-0", "0", "0.5", "-1", "4.9e-324", "1.7976931348623157e308", "9007199254740991", "-9007199254740991",
  "9007199254740993", "-9007199254740993", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296",
  "1e308", "123456789012345678901234567890"
]
const extremeJsonNumbers = fc.oneof(
  fc.constantFrom(...EXTREME_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String)
)

/** Anything a forged cursor's date or id could be, as JSON text. */
const cursorValue = fc.oneof(
  extremeJsonNumbers,
  fc.constantFrom("NaN", "Infinity", "-Infinity", "null", "true", "[]", "{}", "\"1e20\"", "\"2025-01-01T00:00:00.000Z\"", "\"\\u0000\""),
  fc.string().map((s) => JSON.stringify(s)),
  fc.uuid().map((u) => JSON.stringify(u)),
  fc.uuid().map((u) => JSON.stringify(u.toUpperCase())),
  fc.uuid().map((u) => JSON.stringify(`${u}\u0000`)),
  fc.jsonValue().map((v) => JSON.stringify(v))
)

/** A cursor some page could not have produced: forged payloads, other shapes, other encodings. */
const forgedCursor = fc.oneof(
  fc.tuple(cursorValue, cursorValue).map(([c, i]) => base64url(`{"c":${c},"i":${i}}`)),
  fc.tuple(cursorValue, fc.uuid()).map(([c, i]) => base64url(`{"c":${c},"i":"${i}"}`)),
  fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), cursorValue).map(([c, i]) => base64url(`{"c":${c},"i":${i}}`)),
  fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.uuid(), fc.string(), cursorValue).map(([c, i, k, v]) =>
    base64url(`{"c":${c},"i":"${i}",${JSON.stringify(k)}:${v}}`)),
  fc.jsonValue().map((v) => base64url(JSON.stringify(v))),
  fc.string({ unit: "binary" }).map(base64url),
  fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes).toString("base64url")),
  fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes).toString("base64")),
  fc.string({ maxLength: 200 }),
  fc.constantFrom("", "=", "%", "garbage", "e30", base64url("{\"c\":1e20,\"i\":\"00000000-0000-0000-0000-000000000000\"}"))
)

const param = (value: string) => encodeURIComponent(value)

describe("forged cursors on every keyset-paginated list", () => {
  it("finds the lists from the OpenAPI document", () => {
    expect(cursorInputs.map((c) => c.key).sort()).toEqual(["admin.listUsers", "assets.list", "designs.list", "jobs.listForDesign", "orders.list"])
  })

  const pathOf = (key: string) => endpoints.find((e) => e.key === key)!.path.replace(":id", designId)
  const tokenFor = (key: string) => key === "admin.listUsers" ? admin.token : user.token

  it.each(cursorInputs.map((c) => [c.key]))("%s: a 400 invalid_cursor or a page, never a 5xx", async (key) => {
    await fc.assert(
      fc.asyncProperty(forgedCursor, async (cursor) => {
        const result = await h.call("GET", `${pathOf(key)}?limit=3&cursor=${param(cursor)}`, { token: tokenFor(key) })
        const context = checkAnswer(result)
        expect([200, 400], context).toContain(result.status)
        if (result.status === 200) expect(Array.isArray(result.body.data), context).toBe(true)
        // A cursor the query schema lets through (512 or 1016 characters) and that no page produced.
        else expect(["invalid_cursor", "validation_failed"], context).toContain(result.body.code)
      }),
      { numRuns: RUNS }
    )
  })

  it.each([
    ["designs.list", 1e20], ["designs.list", -1e16], ["designs.list", "1e400"], ["designs.list", "NaN"], ["designs.list", "\"0\""],
    ["orders.list", 1e20], ["orders.list", -1e16], ["orders.list", "1e400"], ["orders.list", "-1e400"], ["orders.list", "null"]
  ] as const)("%s: the issue's cursor {\"c\":%s} is a 400 invalid_cursor", async (key, c) => {
    const cursor = base64url(`{"c":${c},"i":"${designId}"}`)
    const result = await h.call("GET", `${pathOf(key)}?cursor=${cursor}`, { token: user.token })
    checkAnswer(result)
    expect(result.status, result.text).toBe(400)
    expect(result.body).toMatchObject({ code: "invalid_cursor", status: 400 })
  })

  it.each(["designs.list", "orders.list"] as const)("%s: an in-range cursor, whatever the case of its id, answers the correct page", async (key) => {
    const rows = key === "designs.list" ? designs : orders
    const newest = rows[0]!.createdAt
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: newest - 5, max: newest + 5 }),
          fc.constantFrom(...rows.map((r) => r.createdAt)),
          fc.constantFrom(-62_135_596_800_000, 0, 253_402_300_799_999)
        ),
        fc.oneof(fc.constantFrom(...rows.map((r) => r.id)), fc.uuid({ version: 4 })),
        fc.constantFrom((s: string) => s, (s: string) => s.toUpperCase()),
        fc.integer({ min: 1, max: 6 }),
        async (c, id, spell, limit) => {
          const cursor = base64url(JSON.stringify({ c, i: spell(id) }))
          const result = await h.call("GET", `${pathOf(key)}?limit=${limit}&cursor=${cursor}`, { token: user.token })
          const context = checkAnswer(result)
          expect(result.status, context).toBe(200)
          const expected = rows.filter((r) => r.createdAt < c || (r.createdAt === c && r.id < id.toLowerCase())).slice(0, limit)
          expect(result.body.data.map((d: { id: string }) => d.id), context).toEqual(expected.map((r) => r.id))
        }
      ),
      { numRuns: 60 }
    )
  })

  it("admin.listUsers: a cursor that is not the base64url of a stored email is a 400 invalid_cursor", async () => {
    for (const email of ["\u0000", "a\u0000@example.com", "Upper@Example.com", "x".repeat(300), "\ud800", "not an email"]) {
      const result = await h.call("GET", `/api/v1/admin/users?cursor=${base64url(email)}`, { token: admin.token })
      checkAnswer(result)
      expect(result.body, `${JSON.stringify(email)}: ${result.text}`).toMatchObject({ code: "invalid_cursor", status: 400 })
    }
    const invalidUtf8 = Buffer.from([0x61, 0xff, 0x40, 0x62, 0x2e, 0x63]).toString("base64url")
    const result = await h.call("GET", `/api/v1/admin/users?cursor=${invalidUtf8}`, { token: admin.token })
    expect(result.body, result.text).toMatchObject({ code: "invalid_cursor", status: 400 })
  })
})

describe("extreme numbers in every numeric input", () => {
  it("finds the numeric query parameters and bodies from the OpenAPI document", () => {
    expect(numericQueryInputs.map((q) => q.key).sort()).toEqual([
      "admin.listUsers",
      "ai.similar",
      "assets.list",
      "designs.list",
      "jobs.listForDesign",
      "orders.list"
    ])
    expect(numericBodies.sort()).toEqual(Object.keys(numericBodyFor).sort())
  })

  const numericQueryValue = fc.oneof(
    extremeJsonNumbers,
    fc.constantFrom("NaN", "Infinity", "-Infinity", "0x10", "1.5", "1,5", "+5", " 5", "5 ", "٣", "９", "1_0", "", "-0", "00000000005", "0e0"),
    fc.double().map(String)
  )

  it.each(numericQueryInputs.map((q) => [q.key, q.name]))("%s ?%s=: a 400 or a page, never a 5xx", async (key, name) => {
    const endpoint = endpoints.find((e) => e.key === key)!
    const path = endpoint.path.replace(":id", designId)
    await fc.assert(
      fc.asyncProperty(numericQueryValue, async (value) => {
        const result = await h.call("GET", `${path}?${name}=${param(value)}`, { token: key === "admin.listUsers" ? admin.token : user.token })
        // Without an AI provider configured, similar designs are 503 feature_unavailable once the input is valid.
        if (key === "ai.similar" && result.status === 503) {
          expect(result.body.code).toBe("feature_unavailable")
          return
        }
        const context = checkAnswer(result)
        if (result.status === 400) {
          expect(result.body, context).toMatchObject({ code: "validation_failed", errors: [expect.objectContaining({ path: name, location: "query" })] })
        } else {
          expect(result.status, context).toBe(200)
          expect(result.body.data.length, context).toBeLessThanOrEqual(Number(value))
        }
      }),
      { numRuns: RUNS }
    )
  })

  /** A valid body per write endpoint with numbers, each number a place for an extreme one. */
  const numericBodyFor: Record<string, () => Promise<{ path: string; token?: string; serviceKey?: string; body: unknown }>> = {
    "designs.create": async () => ({ path: "/api/v1/designs", token: user.token, body: { name: "N", productType: "mug", document: validDocument() } }),
    "designs.update": async () => ({ path: `/api/v1/designs/${designId}`, token: user.token, body: { version: 1, document: validDocument() } }),
    "assets.requestUpload": async () => ({
      path: `/api/v1/designs/${designId}/assets`, token: user.token, body: { fileName: "a.png", contentType: "image/png", byteSize: 68 }
    }),
    "internal.upsertOrder": async () => ({
      path: `/api/v1/internal/orders/shopify:n-${randomUUID()}`,
      serviceKey: SERVICE_KEY,
      body: { userId: user.id, designId, status: "paid", quantity: 1, totalCents: 100, currency: "EUR" }
    })
  }

  /** Paths of the numbers in a JSON value. */
  const numberPaths = (value: unknown, path: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> =>
    typeof value === "number"
      ? [path]
      : Array.isArray(value)
      ? value.flatMap((v, i) => numberPaths(v, [...path, i]))
      : value !== null && typeof value === "object"
      ? Object.entries(value).flatMap(([k, v]) => numberPaths(v, [...path, k]))
      : []

  const MARK = "\"__EXTREME__\""
  const withToken = (body: unknown, path: ReadonlyArray<string | number>) => {
    const copy = structuredClone(body) as any
    let at = copy
    for (const key of path.slice(0, -1)) at = at[key]
    at[path.at(-1)!] = MARK.slice(1, -1)
    return (token: string) => JSON.stringify(copy).replace(MARK, token)
  }

  it.each(Object.keys(numericBodyFor).map((key) => [key]))("%s: every number in the body, extreme: a 4xx or a success, never a 5xx", async (key) => {
    const endpoint = endpoints.find((e) => e.key === key)!
    const sample = await numericBodyFor[key]!()
    const paths = numberPaths(sample.body)
    expect(paths.length).toBeGreaterThan(0)
    const send = async (path: ReadonlyArray<string | number>, token: string) => {
      const request = await numericBodyFor[key]!()
      const headers: Record<string, string> = { "content-type": "application/json" }
      if (request.token !== undefined) headers["authorization"] = `Bearer ${request.token}`
      if (request.serviceKey !== undefined) headers["x-service-key"] = request.serviceKey
      const result = await h.raw(endpoint.method, request.path, { headers, body: withToken(request.body, path)(token) })
      checkAnswer(result)
    }
    // Every extreme at every place, then random doubles, integers and big integers.
    for (const path of paths) for (const token of EXTREME_NUMBERS) await send(path, token)
    await fc.assert(fc.asyncProperty(fc.constantFrom(...paths), extremeJsonNumbers, send), { numRuns: RUNS })
  })
})
