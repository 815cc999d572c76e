import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import { client, uniqueEmail, validDocument } from "../support/http.ts"
import { completedUpload, sharedApps } from "../support/sharedApps.ts"
import { attempt, failsWithProblem, failure, ok, typedClient } from "../support/typedClient.ts"

/**
 * A design's uploads (list, delete) and render jobs (list), on real PostgreSQL and Redis with
 * the local storage backend: owner only, keyset pages, ids in any spelling.
 */
const apps = sharedApps(1, { config: { renderJobsPerHour: 100 } })
beforeAll(apps.start, 60_000)
afterAll(apps.stop)
const app = () => apps.app()
const api = typedClient(app)
const raw = client(app)

const signUp = async () =>
  (await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "A" } }), 201))
    .tokens.accessToken

const newDesign = (token: string, document: DesignDocument = validDocument()) =>
  ok(api(token).designs.create({ payload: { name: "Mug", productType: "mug", document } }), 201)

const imageDocument = (...assetIds: ReadonlyArray<string>): DesignDocument => ({
  ...validDocument(),
  layers: assetIds.map((assetId, i) => ({
    id: `img${i}`, type: "image" as const, x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: i, assetId
  }))
})

const upload = (token: string, designId: string) => completedUpload(api(token), app(), designId)

const fetchObject = async (path: string) => (await app().handler(new Request(`http://test${path}`))).status

describe("GET /api/v1/designs/{id}/assets", () => {
  it("lists the design's uploads newest first, by keyset pages, pending ones included", async () => {
    const token = await signUp()
    const design = await newDesign(token)
    const other = await newDesign(token)
    const ids: Array<string> = []
    for (let i = 0; i < 4; i++) ids.push((await upload(token, design.id)).assetId)
    const pending = await ok(api(token).assets.requestUpload({
      params: { id: design.id },
      payload: { fileName: "later.png", contentType: "image/png", byteSize: 10 }
    }), 201)
    await upload(token, other.id)

    const seen: Array<{ id: string; status: string }> = []
    let cursor: string | undefined
    do {
      const page = await ok(api(token).assets.list({ params: { id: design.id }, query: { limit: 2, ...(cursor === undefined ? {} : { cursor }) } }))
      expect(page.data.length).toBeLessThanOrEqual(2)
      seen.push(...page.data)
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
    expect(seen.map((a) => a.id)).toEqual([pending.assetId, ...ids.reverse()])
    expect(seen[0]!.status).toBe("pending")
    // Never the owner or the storage key.
    const rawPage = await raw("GET", `/api/v1/designs/${design.id}/assets`, { token })
    expect(Object.keys(rawPage.body.data[0]).sort()).toEqual(["byteSize", "completedAt", "contentType", "createdAt", "designId", "fileName", "id", "status"])
  })

  it("someone else's design answers 404; a forged cursor 400 invalid_cursor; the id in upper case alike", async () => {
    const owner = await signUp()
    const design = await newDesign(owner)
    const { assetId } = await upload(owner, design.id)
    await failsWithProblem(api(await signUp()).assets.list({ params: { id: design.id }, query: {} }), "NotFound", 404, "not_found")
    await failsWithProblem(api(owner).assets.list({ params: { id: design.id }, query: { cursor: "bm90LWEtY3Vyc29y" } }), "InvalidCursor", 400, "invalid_cursor")
    const upper = await raw("GET", `/api/v1/designs/${design.id.toUpperCase()}/assets`, { token: owner })
    expect(upper.status).toBe(200)
    expect(upper.body.data.map((a: { id: string }) => a.id)).toEqual([assetId])
  })
})

describe("DELETE /api/v1/designs/{id}/assets/{assetId}", () => {
  it("removes the upload and its stored object", async () => {
    const token = await signUp()
    const design = await newDesign(token)
    const { assetId, downloadPath } = await upload(token, design.id)
    expect(await fetchObject(downloadPath)).toBe(200)
    await ok(api(token).assets.delete({ params: { id: design.id, assetId: assetId as never } }), 204)
    expect((await ok(api(token).assets.list({ params: { id: design.id }, query: {} }))).data).toEqual([])
    await failure(api(token).assets.download({ params: { id: design.id, assetId: assetId as never } }), "NotFound")
    // The object went too: the URL handed out before finds nothing.
    expect(await fetchObject(downloadPath)).toBe(404)
    // And no layer may show it any more.
    const refused = await failure(api(token).designs.create({ payload: { name: "Mug", productType: "mug", document: imageDocument(assetId) } }), "ValidationFailed")
    expect(refused.errors).toEqual([expect.objectContaining({ path: "document.layers.0.assetId" })])
  })

  it("is refused with 409 asset_in_use while a live design's layer shows it, this design or another", async () => {
    const token = await signUp()
    const design = await newDesign(token)
    const { assetId } = await upload(token, design.id)
    const shows = await newDesign(token, imageDocument(assetId))
    const params = { id: design.id, assetId: assetId as never }
    const { error } = await failsWithProblem(api(token).assets.delete({ params }), "AssetInUse", 409, "asset_in_use")
    expect(error.designIds).toEqual([shows.id])
    // Its own design shows it too.
    await ok(api(token).designs.update({ params: { id: design.id }, headers: {}, payload: { version: 1, document: imageDocument(assetId, assetId) } }))
    const both = await failure(api(token).assets.delete({ params }), "AssetInUse")
    expect([...both.designIds].sort()).toEqual([design.id, shows.id].sort())
    // Layers removed (one design edited, the other deleted): it goes.
    await ok(api(token).designs.update({ params: { id: design.id }, headers: {}, payload: { version: 2, document: validDocument() } }))
    await ok(api(token).designs.delete({ params: { id: shows.id } }), 204)
    await ok(api(token).assets.delete({ params }), 204)
  })

  it("someone else's upload answers 404 and stays; so does it under another design of the owner", async () => {
    const owner = await signUp()
    const design = await newDesign(owner)
    const elsewhere = await newDesign(owner)
    const { assetId } = await upload(owner, design.id)
    const intruder = await signUp()
    await failsWithProblem(api(intruder).assets.delete({ params: { id: design.id, assetId: assetId as never } }), "NotFound", 404, "not_found")
    const intruderDesign = await newDesign(intruder)
    await failure(api(intruder).assets.delete({ params: { id: intruderDesign.id, assetId: assetId as never } }), "NotFound")
    await failure(api(owner).assets.delete({ params: { id: elsewhere.id, assetId: assetId as never } }), "NotFound")
    expect((await ok(api(owner).assets.list({ params: { id: design.id }, query: {} }))).data.map((a) => a.id)).toEqual([assetId])
  })

  it("ids in upper case delete the same upload", async () => {
    const token = await signUp()
    const design = await newDesign(token)
    const { assetId } = await upload(token, design.id)
    const deleted = await raw("DELETE", `/api/v1/designs/${design.id.toUpperCase()}/assets/${assetId.toUpperCase()}`, { token })
    expect(deleted.status).toBe(204)
    expect((await raw("DELETE", `/api/v1/designs/${design.id}/assets/${assetId}`, { token })).status).toBe(404)
  })

  it("two deletions at once: one 204, one 404", async () => {
    const token = await signUp()
    const design = await newDesign(token)
    for (let round = 0; round < 5; round++) {
      const { assetId } = await upload(token, design.id)
      const params = { id: design.id, assetId: assetId as never }
      const outcomes = await Promise.all([attempt(api(token).assets.delete({ params })), attempt(api(token).assets.delete({ params }))])
      expect(outcomes.map((o) => o.status).sort()).toEqual([204, 404])
    }
  })
})

describe("GET /api/v1/designs/{id}/jobs", () => {
  it("lists the design's render and PDF jobs newest first, by keyset pages; owner only", async () => {
    const token = await signUp()
    const design = await newDesign(token)
    const other = await newDesign(token)
    const ids: Array<string> = []
    for (const kind of ["render", "pdf", "render", "pdf", "render"] as const) {
      ids.push((await ok(api(token).jobs.render({ params: { id: design.id }, payload: { kind } }), 202)).id)
    }
    await ok(api(token).jobs.render({ params: { id: other.id }, payload: {} }), 202)
    const seen: Array<{ id: string; kind: string; status: string }> = []
    let cursor: string | undefined
    do {
      const page = await ok(api(token).jobs.listForDesign({ params: { id: design.id }, query: { limit: 2, ...(cursor === undefined ? {} : { cursor }) } }))
      seen.push(...page.data)
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
    expect(seen.map((j) => j.id)).toEqual([...ids].reverse())
    expect(seen.map((j) => j.kind)).toEqual(["render", "pdf", "render", "pdf", "render"])
    expect(seen.every((j) => j.status === "queued")).toBe(true)
    const wire = await raw("GET", `/api/v1/designs/${design.id.toUpperCase()}/jobs?limit=1`, { token })
    expect(wire.status).toBe(200)
    expect(wire.body.data[0]).toMatchObject({ jobId: ids.at(-1), designId: design.id })
    expect(wire.body.data[0].ownerId).toBeUndefined()
    await failsWithProblem(api(await signUp()).jobs.listForDesign({ params: { id: design.id }, query: {} }), "NotFound", 404, "not_found")
    await failsWithProblem(api(token).jobs.listForDesign({ params: { id: design.id }, query: { cursor: "eyJjIjoxfQ" } }), "InvalidCursor", 400, "invalid_cursor")
  })
})
