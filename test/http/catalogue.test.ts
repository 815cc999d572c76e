import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { client } from "../support/http.ts"
import { sharedApps } from "../support/sharedApps.ts"
import { attempt, failureAndResponse, ok, typedClient } from "../support/typedClient.ts"

/**
 * The public catalogue: GET /products and /plans without a token, with a strong ETag derived
 * from the content (the same on every instance), Cache-Control, and 304 for a current copy.
 */
const apps = sharedApps(2)
beforeAll(apps.start, 60_000)
afterAll(apps.stop)
const api = typedClient(() => apps.app(0))
const raw = client(() => apps.app(0))
const rawSecond = client(() => apps.app(1))

const STRONG_TAG = /^"[A-Za-z0-9_-]{43}"$/u

describe("GET /api/v1/products", () => {
  it("lists the seeded products with their printable areas, publicly, cacheable", async () => {
    const outcome = await attempt(api().catalogue.products())
    expect(outcome._tag).toBe("Success")
    expect(outcome.status).toBe(200)
    const body = JSON.parse(outcome.response!.text)
    expect(body.data).toContainEqual({ id: "mug", name: "Mug", printableWidthMm: 200, printableHeightMm: 90 })
    expect(body.data.map((p: { id: string }) => p.id)).toEqual(["hoodie", "mug", "phone-case", "poster", "sticker", "t-shirt", "tote-bag"])
    expect(outcome.response!.headers.get("etag")).toMatch(STRONG_TAG)
    expect(outcome.response!.headers.get("cache-control")).toBe("public, max-age=300")
  })

  it("answers 304 with no body to the current tag (also weak, in a list or *), 200 to a stale one", async () => {
    const first = await raw("GET", "/api/v1/products")
    const etag = first.headers.get("etag")!
    for (const ifNoneMatch of [etag, `W/${etag}`, `"stale", ${etag}`, "*"]) {
      const again = await raw("GET", "/api/v1/products", { headers: { "if-none-match": ifNoneMatch } })
      expect(again.status, ifNoneMatch).toBe(304)
      expect(again.text).toBe("")
      expect(again.headers.get("etag")).toBe(etag)
      expect(again.headers.get("cache-control")).toBe("public, max-age=300")
    }
    const stale = await raw("GET", "/api/v1/products", { headers: { "if-none-match": "\"stale\"" } })
    expect(stale.status).toBe(200)
    expect(stale.body).toEqual(first.body)
  })

  it("the typed client fails a 304 as NotModified, as for a design; a fresh answer decodes with its headers", async () => {
    const etag = (await raw("GET", "/api/v1/products")).headers.get("etag")!
    const current = typedClient(() => apps.app(0), {})({ headers: { "if-none-match": etag } })
    const { response } = await failureAndResponse(current.catalogue.products(), "NotModified")
    expect(response?.status).toBe(304)
    expect(response?.headers.get("etag")).toBe(etag)
    const fresh = await ok(api().catalogue.products(), 200)
    expect(fresh.headers.etag).toBe(etag)
    expect(fresh.headers["cache-control"]).toBe("public, max-age=300")
  })

  it("the tag is derived from the content: every instance gives the same one", async () => {
    const [a, b] = await Promise.all([raw("GET", "/api/v1/products"), rawSecond("GET", "/api/v1/products")])
    expect(a.headers.get("etag")).toBe(b.headers.get("etag"))
  })

  it("a token is not needed, and a bad one does not matter", async () => {
    const answer = await raw("GET", "/api/v1/products", { token: "not-a-token" })
    expect(answer.status).toBe(200)
  })
})

describe("GET /api/v1/plans", () => {
  it("lists the plans cheapest first with their monthly design quota (null: unlimited)", async () => {
    const answer = await raw("GET", "/api/v1/plans")
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({
      data: [
        { id: "free", name: "Free", monthlyDesignQuota: 10 },
        { id: "starter", name: "Starter", monthlyDesignQuota: 100 },
        { id: "pro", name: "Pro", monthlyDesignQuota: 1000 },
        { id: "enterprise", name: "Enterprise", monthlyDesignQuota: null }
      ]
    })
    expect(answer.headers.get("etag")).toMatch(STRONG_TAG)
    expect(answer.headers.get("etag")).not.toBe((await raw("GET", "/api/v1/products")).headers.get("etag"))
    const again = await raw("GET", "/api/v1/plans", { headers: { "if-none-match": answer.headers.get("etag")! } })
    expect(again.status).toBe(304)
    expect(again.text).toBe("")
  })
})
