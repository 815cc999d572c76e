import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { danglingLayers, directQuery, imageDocument } from "../support/directSql.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { completedUpload, sharedApps } from "../support/sharedApps.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * Documents written before ids were canonicalised (e0afce4) keep the asset id as the client
 * spelled it (.NET clients: upper case). PostgreSQL's uuid cast (the trigger) reads them as the
 * same upload, so must the deletion's "is it shown?" check: else the upload of a live design
 * is deleted and its layer dangles.
 */
const apps = sharedApps(1)
beforeAll(apps.start, 60_000)
afterAll(apps.stop)
const api = typedClient(() => apps.app(0))

const query = directQuery(apps.databaseUrl)

const mixedCase = (id: string) => [...id].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c)).join("")

describe("deleting an upload a legacy document shows in another spelling", () => {
  it.each([["upper case", (id: string) => id.toUpperCase()], ["mixed case", mixedCase]])(
    "%s: 409 asset_in_use, the upload and its layer stay",
    async (_name, spell) => {
      const token = (await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "L" } }), 201))
        .tokens.accessToken
      const host = await ok(api(token).designs.create({ payload: { name: "Host", productType: "mug", document: validDocument() } }), 201)
      const shower = await ok(api(token).designs.create({ payload: { name: "Shower", productType: "mug", document: validDocument() } }), 201)
      const { assetId } = await completedUpload(api(token), apps.app(0), host.id)
      // As a release before the canonical ids stored it: the id as the client sent it.
      await query((sql) =>
        sql`UPDATE designs SET document = ${JSON.stringify(imageDocument(spell(assetId)))}::jsonb WHERE id = ${shower.id}`)

      const deletion = await attempt(api(token).assets.delete({ params: { id: host.id, assetId: assetId as never } }))
      expect(deletion.status, deletion.response?.text).toBe(409)
      expect(await danglingLayers(query)).toEqual([])
    }
  )
})
