import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { Effect, Exit, Option, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import { client, uniqueEmail, validDocument } from "../support/http.ts"
import { freePort } from "../support/servers.ts"
import { failure, ok, typedClient } from "../support/typedClient.ts"

interface S3rverInstance {
  run(): Promise<unknown>
  close(): Promise<void>
}
const S3rver = createRequire(import.meta.url)("s3rver") as new (options: Record<string, unknown>) => S3rverInstance
const BUCKET = "customify-assets"
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)

const scope = Effect.runSync(Scope.make())
const dir = mkdtempSync(join(tmpdir(), "customify-s3rver-http-"))
let s3: S3rverInstance
let app: ReturnType<typeof makeTestApp>
const api = typedClient(() => app)
/** Raw requests: only for values the typed client's schemas refuse to send. */
const call = client(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  const port = await freePort()
  s3 = new S3rver({ port, address: "127.0.0.1", directory: dir, silent: true })
  await s3.run()
  const endpoint = `http://127.0.0.1:${port}`
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
  await new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials }).send(new CreateBucketCommand({ Bucket: BUCKET }))
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({
    databaseUrl,
    redisUrl: realRedisUrl(),
    storage: {
      bucket: Option.some(BUCKET),
      endpoint: Option.some(endpoint),
      region: "us-east-1",
      accessKeyId: Option.some(Redacted.make(credentials.accessKeyId)),
      secretAccessKey: Option.some(Redacted.make(credentials.secretAccessKey)),
      forcePathStyle: true
    }
  })
})
afterAll(async () => {
  await app?.dispose()
  await s3?.close()
  rmSync(dir, { recursive: true, force: true })
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const signUp = async () =>
  (await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "A" } })))
    .tokens.accessToken

const withImage = (assetId: string): DesignDocument => ({
  ...validDocument(),
  layers: [{ id: "img", type: "image", x: 0, y: 0, width: 100, height: 100, rotation: 0, opacity: 1, zIndex: 0, assetId }]
})

const createDesign = (token: string, name: string, document: DesignDocument = validDocument()) =>
  api(token).designs.create({ payload: { name, productType: "mug", document } })

describe("uploads through presigned URLs to an S3-protocol server (s3rver)", () => {
  it("upload, complete, use in a design, download", async () => {
    const token = await signUp()
    const assets = api(token).assets
    const design = await ok(createDesign(token, "Logo mug"))
    const grant = await ok(assets.requestUpload({
      params: { id: design.id },
      payload: { fileName: "../../etc/logo.png", contentType: "image/png", byteSize: PNG.length }
    }), 201)
    expect(grant).toMatchObject({ method: "PUT", uploadUrl: expect.stringContaining(`/${BUCKET}/users/`) })
    expect(grant.uploadUrl).not.toContain("..")
    const asset = { id: design.id, assetId: grant.assetId }

    // Not uploaded yet: neither completable nor usable in a document.
    expect((await failure(assets.complete({ params: asset }), "AssetNotUploaded")).status).toBe(409)
    const early = await failure(createDesign(token, "Too early", withImage(grant.assetId)), "ValidationFailed")
    expect(early.status).toBe(400)
    expect(early.errors).toEqual([expect.objectContaining({ path: "document.layers.0.assetId" })])

    const put = await fetch(grant.uploadUrl, { method: "PUT", headers: grant.headers, body: PNG })
    expect(put.status).toBe(200)
    const completed = await ok(assets.complete({ params: asset }), 200)
    expect(completed.status).toBe("complete")

    await ok(createDesign(token, "With logo", withImage(grant.assetId)), 201)

    const download = await ok(assets.download({ params: asset }), 200)
    const fetched = Buffer.from(await (await fetch(download.url)).arrayBuffer())
    expect(fetched.equals(PNG)).toBe(true)
  })

  it("refuses other content types, oversized declarations, and someone else's asset", async () => {
    const owner = await signUp()
    const other = await signUp()
    const assets = api(owner).assets
    const design = await ok(createDesign(owner, "Mine"))
    // Raw: the typed client refuses a content type outside the allowed ones before sending it.
    const html = await call("POST", `/api/v1/designs/${design.id}/assets`, { token: owner, body: { fileName: "x.html", contentType: "text/html", byteSize: 10 } })
    expect(html.status).toBe(400)
    const huge = await failure(assets.requestUpload({
      params: { id: design.id },
      payload: { fileName: "x.png", contentType: "image/png", byteSize: 50 * 1024 * 1024 }
    }), "AssetTooLarge")
    expect(huge.status).toBe(413)
    const grant = await ok(assets.requestUpload({ params: { id: design.id }, payload: { fileName: "a.png", contentType: "image/png", byteSize: PNG.length } }))
    await fetch(grant.uploadUrl, { method: "PUT", headers: grant.headers, body: PNG })
    await ok(assets.complete({ params: { id: design.id, assetId: grant.assetId } }), 200)
    // Another user can neither reach the asset nor put it in their own design.
    expect((await failure(api(other).assets.download({ params: { id: design.id, assetId: grant.assetId } }), "NotFound")).status).toBe(404)
    const stolen = await failure(createDesign(other, "Theirs", withImage(grant.assetId)), "ValidationFailed")
    expect(stolen.status).toBe(400)
  })
})
