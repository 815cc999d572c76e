import { ByteSize } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { assertConforms } from "../support/contract.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"

/**
 * Odd requests a frontend or a proxy really sends, each answer checked against the document
 * (assertConforms throws on a drift): HEAD, 304, 405, a streamed body over the limit, 415 on
 * every body-taking route, integer parameters in other spellings, left-out bodies.
 */
let app: ReturnType<typeof makeTestApp>
beforeAll(() => {
  app = makeTestApp({ config: { maxBodySize: ByteSize.kibibytes(1) } })
})
afterAll(async () => {
  await app?.dispose()
})

const send = async (method: string, path: string, init: { headers?: Record<string, string>; body?: string | ReadableStream } = {}) => {
  const request = new Request(`http://test${path}`, {
    method,
    ...(init.headers === undefined ? {} : { headers: init.headers }),
    ...(init.body === undefined ? {} : { body: init.body, duplex: "half" })
  } as RequestInit)
  const response = await app.handler(request)
  const text = await response.text()
  assertConforms({ method, path, status: response.status, headers: response.headers, text })
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
}

const JSON_TYPE = { "content-type": "application/json" }

describe("odd requests answered as the document says", () => {
  it("holds for HEAD, 304, 405, streamed 413, 415 per body route, integer spellings and left-out bodies", async () => {
    const email = uniqueEmail()
    const password = "correct horse battery staple 1"
    const signedUp = await send("POST", "/api/v1/auth/register", { headers: JSON_TYPE, body: JSON.stringify({ email, password, fullName: "Ann Lee" }) })
    const auth = { authorization: `Bearer ${signedUp.body.tokens.accessToken}` }
    const design = await send("POST", "/api/v1/designs", {
      headers: { ...auth, ...JSON_TYPE },
      body: JSON.stringify({ name: "Mug", productType: "mug", document: validDocument() })
    })
    const id = design.body.id as string
    const etag = design.headers.get("etag")!

    expect((await send("HEAD", `/api/v1/designs/${id}`, { headers: { ...auth, "if-none-match": etag } })).status).toBe(304)
    const products = await send("GET", "/api/v1/products")
    expect((await send("GET", "/api/v1/products", { headers: { "if-none-match": `W/${products.headers.get("etag")}` } })).status).toBe(304)
    expect((await send("HEAD", "/api/v1/auth/login")).headers.get("allow")).toBe("POST")
    expect((await send("PUT", `/api/v1/designs/${id}`, { headers: auth })).status).toBe(405)

    const streamed = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ email, password: "x".repeat(4000) })))
        controller.close()
      }
    })
    expect((await send("POST", "/api/v1/auth/login", { headers: JSON_TYPE, body: streamed })).status).toBe(413)

    const bodyRoutes = [["PATCH", "/api/v1/users/me"], ["PATCH", `/api/v1/designs/${id}`], ["POST", `/api/v1/designs/${id}/render`], ["POST", `/api/v1/designs/${id}/assets`], ["POST", "/api/v1/ai/suggestions"]]
    for (const [method, path] of bodyRoutes) {
      expect((await send(method!, path!, { headers: { ...auth, "content-type": "text/plain" }, body: "{}" })).status, path).toBe(415)
    }

    for (const limit of ["1e1", "+5", "010", "05", "5.0", "99999999999999999999", "0", "101", ""]) {
      const answer = await send("GET", `/api/v1/designs?limit=${encodeURIComponent(limit)}`, { headers: auth })
      expect([answer.status, answer.body.code], limit).toEqual([400, "validation_failed"])
    }
    expect((await send("GET", "/api/v1/designs?limit=10", { headers: auth })).status).toBe(200)

    for (const body of [undefined, "", "null", "{}"]) {
      const headers = body === undefined ? auth : { ...auth, ...JSON_TYPE }
      expect((await send("POST", `/api/v1/designs/${id}/render`, { headers, ...(body === undefined ? {} : { body }) })).status, String(body)).toBe(202)
    }
  }, 60_000)
})
