import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { validDocument } from "../support/http.ts"
import { PASSWORD, securityHarness, SERVICE_KEY } from "../support/security.ts"
import { ok } from "../support/typedClient.ts"

/** orders of a deleted account (issue 14, "Orders outlive accounts"). */
const h = securityHarness()
beforeAll(h.start)
afterAll(h.stop)

const upsert = (externalId: string, body: unknown) =>
  h.call("PUT", `/api/v1/internal/orders/${externalId}`, { serviceKey: SERVICE_KEY, body })

describe("orders outlive accounts", () => {
  it("the integration's update of a detached order that names its (deleted) design still succeeds", async () => {
    const user = await h.signUp()
    const design = await ok(h.api(user.token).designs.create({ payload: { name: "Mug", productType: "mug", document: validDocument() } }), 201)
    const externalId = `shopify:review14:${Date.now()}`
    const order = { userId: user.id, designId: design.id, status: "paid", quantity: 1, totalCents: 1999, currency: "EUR" }
    expect((await upsert(externalId, order)).status).toBeLessThan(300)
    expect((await h.call("DELETE", "/api/v1/users/me", { token: user.token, body: { password: PASSWORD } })).status).toBe(204)
    const [kept] = await h.query<{ user_id: string | null; design_id: string | null }>(
      "SELECT user_id, design_id FROM orders WHERE external_id = $1", [externalId])
    expect(kept).toEqual({ user_id: null, design_id: null })
    // The store platform resends the whole order, as it always did: the same user and design ids.
    const shipped = await upsert(externalId, { ...order, status: "shipped" })
    expect(shipped.status, shipped.text).toBe(200)
    const [after] = await h.query<{ status: string }>("SELECT status FROM orders WHERE external_id = $1", [externalId])
    expect(after!.status).toBe("shipped")
  })

  it("a detached order stays detached: another account's id does not take it over", async () => {
    const gone = await h.signUp()
    const other = await h.signUp()
    const externalId = `shopify:review14b:${Date.now()}`
    const order = { userId: gone.id, designId: null, status: "paid", quantity: 1, totalCents: 1999, currency: "EUR" }
    expect((await upsert(externalId, order)).status).toBeLessThan(300)
    expect((await h.call("DELETE", "/api/v1/users/me", { token: gone.token, body: { password: PASSWORD } })).status).toBe(204)
    expect((await upsert(externalId, { ...order, userId: other.id, status: "shipped" })).status).toBe(200)
    // The detached financial record of a deleted account is now listed to someone else.
    const listed = await h.call("GET", "/api/v1/orders", { token: other.token })
    expect(listed.body.data).toEqual([])
  })
})
