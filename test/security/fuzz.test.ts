import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { validDocument } from "../support/http.ts"
import { endpoints, expectProblem, fillPath, LEAKS, securityHarness, SERVICE_KEY, type Sent } from "../support/security.ts"
import { ok } from "../support/typedClient.ts"

/**
 * Property-based fuzzing of every endpoint read from the HttpApi definition: random JSON bodies
 * on every write endpoint, random strings in every path and query parameter of every GET
 * endpoint. Never a 5xx, always an answer within 5 s, every error a problem+json.
 */
const h = securityHarness()
let userToken = ""
let adminToken = ""
let designId = ""
beforeAll(async () => {
  await h.start()
  const user = await h.signUp()
  userToken = user.token
  adminToken = (await h.signUpAdmin()).token
  designId = (await ok(h.api(userToken).designs.create({ payload: { name: "Fuzz", productType: "mug", document: validDocument() } }))).id
})
afterAll(h.stop)

const RUNS = 30
const credentialsFor = (endpoint: (typeof endpoints)[number]): Record<string, string> =>
  endpoint.auth === "service"
    ? { "x-service-key": SERVICE_KEY }
    : endpoint.auth === "user"
    ? { authorization: `Bearer ${endpoint.group === "admin" ? adminToken : userToken}` }
    : {}

const checkAnswer = (result: Sent) => {
  const context = `${result.method} ${result.path.slice(0, 160)}: ${result.status} ${result.text.slice(0, 200)}`
  expect(result.status, context).toBeLessThan(500)
  expect(result.ms, context).toBeLessThan(5_000)
  if (result.status >= 400) {
    expectProblem(result, context)
    for (const leak of LEAKS) expect(result.text, context).not.toMatch(leak)
  }
}

/** Every byte of the string's UTF-8 (lone surrogates become U+FFFD), percent-encoded. */
const percentEncode = (value: string) => [...Buffer.from(value, "utf8")].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("")

/** Strings attackers like: traversal, NUL, broken escapes, unicode, very long. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom("../", "../../etc/passwd", "%00", "%", "%zz", "%2e%2e%2f", "..%2f..%2f", "\u0000", "' OR 1=1 --", "$where", "{}", "[]", "\ud800", "%ED%A0%80", "%C0%AE%C0%AE%2F", "%FF", "😀".repeat(100), "a".repeat(9_000), "𝕏".repeat(3_000)),
  fc.string({ minLength: 500, maxLength: 5_000 })
)

describe("random JSON bodies on every write endpoint", () => {
  const writes = endpoints.filter((e) => e.hasPayload)
  it.each(writes.map((e) => [e.key, e] as const))("%s", async (_key, endpoint) => {
    const path = fillPath(endpoint.path, { id: designId })
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((value) => JSON.stringify(value)),
          fc.anything().map((value) => {
            try {
              return JSON.stringify(value) ?? "null"
            } catch {
              return "{"
            }
          }),
          fc.string()
        ),
        async (body) => {
          checkAnswer(await h.raw(endpoint.method, path, { headers: { ...credentialsFor(endpoint), "content-type": "application/json" }, body }))
        }
      ),
      { numRuns: RUNS }
    )
  })
})

describe("random strings in every path and query parameter of every GET endpoint", () => {
  const reads = endpoints.filter((e) => e.method === "GET" && (e.params.length > 0 || e.query.length > 0))
  it("covers the GET endpoints with parameters", () => {
    expect(reads.length).toBeGreaterThanOrEqual(8)
  })
  it.each(reads.map((e) => [e.key, e] as const))("%s", async (_key, endpoint) => {
    await fc.assert(
      fc.asyncProperty(
        fc.record(Object.fromEntries([...endpoint.params, ...endpoint.query].map((name) => [name, nasty]))),
        fc.boolean(),
        async (values: Record<string, string>, encode) => {
          const put = (value: string) => encode ? percentEncode(value) : value.replace(/[#?&\s]/g, percentEncode)
          const path = endpoint.path.replace(/:(\w+)/g, (_, name: string) => put(values[name] ?? ""))
          const query = endpoint.query.map((name) => `${name}=${put(values[name] ?? "")}`).join("&")
          let url: string
          try {
            url = new URL(`http://test${path}${query === "" ? "" : `?${query}`}`).toString()
          } catch {
            return
          }
          checkAnswer(await h.raw("GET", url, { headers: credentialsFor(endpoint) }))
        }
      ),
      { numRuns: RUNS }
    )
  })
})
