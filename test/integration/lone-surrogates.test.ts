import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { validDocument } from "../support/http.ts"
import { securityHarness } from "../support/security.ts"
import { ok } from "../support/typedClient.ts"

/**
 * a JSON body may carry a lone surrogate (`"\ud800"`), which `JSON.parse` keeps. The
 * design document is stored as JSON text in a `jsonb` column, and PostgreSQL refuses a lone
 * surrogate escape there ("Unicode low surrogate must follow a high surrogate"): a
 * non-outage SqlError, so a defect, 500. In `text` columns the driver silently writes U+FFFD
 * instead, so the answer to a create echoes a spelling the database does not hold.
 * (test/security/random-requests.test.ts never sends one: its strings are percent-encoded UTF-8.)
 */
const h = securityHarness()
beforeAll(h.start)
afterAll(h.stop)

const json = (method: string, path: string, body: string, token: string) =>
  h.raw(method, path, { body, headers: { "content-type": "application/json", authorization: `Bearer ${token}` } })

/** A valid create body whose first text layer's content is `a<escape>b`, the escape written as JSON. */
const withContent = (escape: string) =>
  JSON.stringify({ name: "Lone", productType: "mug", document: validDocument() }).replace(/"content":"[^"]*"/, `"content":"a${escape}b"`)

describe("lone surrogates in request bodies", () => {
  for (const escape of ["\\ud800", "\\udfff"]) {
    it(`a text layer holding ${escape} is refused (400), never a 500 (create)`, async () => {
      const user = await h.signUp()
      const answer = await json("POST", "/api/v1/designs", withContent(escape), user.token)
      expect(answer.status, answer.text).toBe(400)
    })
  }

  it("a text layer holding \\ud800 is refused (400), never a 500 (update)", async () => {
    const user = await h.signUp()
    const design = await ok(h.api(user.token).designs.create({ payload: { name: "Mug", productType: "mug", document: validDocument() } }), 201)
    const body = JSON.stringify({ version: 1, document: validDocument() }).replace(/"content":"[^"]*"/, `"content":"a\\ud800b"`)
    const answer = await json("PATCH", `/api/v1/designs/${design.id}`, body, user.token)
    expect(answer.status, answer.text).toBe(400)
  })

  it("a name holding a lone surrogate is answered as it is stored", async () => {
    const user = await h.signUp()
    const body = JSON.stringify({ name: "S", productType: "mug", document: validDocument() }).replace('"name":"S"', '"name":"x\\udc00"')
    const created = await json("POST", "/api/v1/designs", body, user.token)
    expect(created.status).toBeLessThan(500)
    if (created.status !== 201) return
    const read = await h.call("GET", `/api/v1/designs/${created.body.id}`, { token: user.token })
    // 201 said "x\udc00"; the database (and every later read) says "x\ufffd".
    expect(read.body.name).toBe(created.body.name)
  })
})
