import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { danglingLayers, directQuery, imageDocument } from "../support/directSql.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { completedUpload, sharedApps } from "../support/sharedApps.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * A duplicate of a design showing an upload races the upload's deletion, while the design drops
 * the layer (so the deletion may win): on two instances, with the original read from the cache.
 * Whatever the order, no design shows a deleted upload, and only a duplicate that answered 201
 * is charged.
 */
const apps = sharedApps(2)
beforeAll(apps.start, 60_000)
afterAll(apps.stop)
const a = typedClient(() => apps.app(0))
const b = typedClient(() => apps.app(1))

const query = directQuery(apps.databaseUrl)

describe("duplicating a design while the upload it shows is deleted", () => {
  it("12 rounds on two instances: never a layer showing a deleted upload, never a charge without a 201", async () => {
    const outcomes = new Set<string>()
    for (let round = 0; round < 12; round++) {
      const [one, two] = round % 2 === 0 ? [a, b] : [b, a]
      const { tokens, user } = await ok(a().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "D" } }), 201)
      const token = tokens.accessToken
      const host = await ok(a(token).designs.create({ payload: { name: "Host", productType: "mug", document: validDocument() } }), 201)
      const { assetId } = await completedUpload(a(token), apps.app(0), host.id)
      const shown = await ok(a(token).designs.create({ payload: { name: "Shown", productType: "mug", document: imageDocument(assetId) } }), 201)
      // Both instances have the design with its layer cached.
      await ok(a(token).designs.get({ params: { id: shown.id } }))
      await ok(b(token).designs.get({ params: { id: shown.id } }))
      const [drop, duplicate, deletion] = await Promise.all([
        attempt(one(token).designs.update({ params: { id: shown.id }, headers: {}, payload: { version: 1, document: validDocument() } })),
        attempt(two(token).designs.duplicate({ params: { id: shown.id } })),
        (async () => {
          // The deletion is retried until the layer is gone (409 while it is shown).
          for (let i = 0; i < 40; i++) {
            const outcome = await attempt(one(token).assets.delete({ params: { id: host.id, assetId: assetId as never } }))
            if (outcome.status !== 409) return outcome
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
          return attempt(one(token).assets.delete({ params: { id: host.id, assetId: assetId as never } }))
        })()
      ])
      outcomes.add(`${drop.status}/${duplicate.status}/${deletion.status}`)
      expect(drop.status).toBe(200)
      expect([201, 400], duplicate.response?.text).toContain(duplicate.status)
      expect([204, 409], deletion.response?.text).toContain(deletion.status)
      expect(await danglingLayers(query, user.id), `round ${round}`).toEqual([])
      const [usage] = await query((sql) => sql<{ used: number }>`SELECT sum(designs_created)::int AS used FROM design_usage WHERE user_id = ${user.id}`)
      const [rows] = await query((sql) => sql<{ count: number }>`SELECT count(*)::int AS count FROM designs WHERE owner_id = ${user.id}`)
      expect(usage!.used).toBe(rows!.count)
      expect(rows!.count).toBe(duplicate.status === 201 ? 3 : 2)
    }
    expect(outcomes.size).toBeGreaterThanOrEqual(1)
  }, 120_000)
})
