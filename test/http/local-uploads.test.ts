import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Duration, Effect, Exit, Layer, Logger, Option, Redacted, Scope } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { withConventions } from "../../src/api/Api.ts"
import { AssetsApi } from "../../src/api/Assets.ts"
import { Idempotent } from "../../src/api/Idempotency.ts"
import { Unauthorized } from "../../src/api/Problems.ts"
import { Authentication, CurrentActor } from "../../src/api/Security.ts"
import * as Storage from "../../src/capabilities/storage/Storage.ts"
import * as StorageConfig from "../../src/config/StorageConfig.ts"
import type { AllowedContentType, AssetId } from "../../src/domain/Asset.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as AssetsRepository from "../../src/features/assets/AssetsRepository.ts"
import { buildAssetsHandlers } from "../../src/features/assets/Http.ts"
import { LocalUploadRoutes, localUploadRoutes, SVG_CONTENT_SECURITY_POLICY } from "../../src/features/assets/LocalUploadRoutes.ts"
import * as DesignsRepository from "../../src/features/designs/DesignsRepository.ts"
import * as Transactions from "../../src/capabilities/database/Transactions.ts"
import * as RequestPipeline from "../../src/http/RequestPipeline.ts"
import * as RequestValidationLive from "../../src/http/RequestValidationLive.ts"
import * as RouteTable from "../../src/http/RouteTable.ts"
import { pipelineDependencies } from "../support/app.ts"
import { failsWithProblem, ok, typedClientFor } from "../support/typedClient.ts"

/**
 * The local storage layer's upload and download routes, and the assets endpoints, on the real
 * request pipeline: a probe API holding the assets group (not yet part of CoreApi), memory
 * repositories, files in a temporary directory. The bearer token is the user id (a stand-in
 * for the real authentication, which has its own tests).
 */

/** A 1x1 transparent PNG: real bytes, 68 of them. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)
const SVG = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)
const SECRET = Redacted.make("test-secret-for-local-upload-urls-0123456789")
const MAX_BYTES = 4096

const ProbeApi = withConventions(HttpApi.make("probe").add(AssetsApi))
const ProbeHandlers = HttpApiBuilder.group(ProbeApi, "assets", (handlers) => Effect.succeed(buildAssetsHandlers(handlers)))

const StubAuthentication = Layer.succeed(Authentication, {
  bearer: (httpEffect, { credential }) => {
    const userId = Redacted.value(credential)
    return userId === ""
      ? Effect.fail(new Unauthorized({ code: "unauthorized" }))
      : Effect.provideService(httpEffect, CurrentActor, { userId: userId as UserId, role: "user", sessionId: "s".repeat(22) })
  }
})

/** Idempotency keys are not what this probe is about (test/integration/idempotent-creates.test.ts). */
const PassThroughIdempotent = Layer.succeed(Idempotent, Idempotent.of((httpEffect) => httpEffect))

const quiet = Logger.layer([])

type Services =
  | Storage.Storage
  | Storage.LocalUploads
  | StorageConfig.StorageConfig
  | AssetsRepository.AssetsRepository
  | DesignsRepository.DesignsRepository
  | Transactions.Transactions

/** The app over the given services (built once, shared with the test for seeding). */
const makeApp = (services: Context.Context<Services>) =>
  HttpRouter.toWebHandler(
    Layer.mergeAll(
      HttpApiBuilder.layer(ProbeApi).pipe(
        Layer.provide(ProbeHandlers),
        Layer.provideMerge(Layer.mergeAll(RequestValidationLive.layer, StubAuthentication, PassThroughIdempotent))
      ),
      LocalUploadRoutes,
      RequestPipeline.layer(RouteTable.make(ProbeApi, localUploadRoutes)).pipe(Layer.provide(pipelineDependencies))
    ).pipe(
      Layer.provideMerge(Layer.succeedContext(services)),
      Layer.provideMerge(quiet),
      Layer.provide(HttpServer.layerServices)
    ),
    { disableLogger: true }
  )

const servicesLayer = (storage: Layer.Layer<Storage.Storage | Storage.LocalUploads, never, StorageConfig.StorageConfig>) =>
  Layer.mergeAll(AssetsRepository.layerMemory, DesignsRepository.layerMemory, Transactions.layerMemory, storage).pipe(
    Layer.provideMerge(StorageConfig.layerTest({ publicBaseUrl: "http://test", uploadMaxBytes: MAX_BYTES }))
  )

const scope = Effect.runSync(Scope.make())
const dataDir = mkdtempSync(join(tmpdir(), "customify-uploads-"))
let services: Context.Context<Services>
let app: ReturnType<typeof makeApp>

beforeAll(async () => {
  services = await Effect.runPromise(Layer.build(servicesLayer(Storage.layerLocal({ secret: SECRET, dataDir }))).pipe(Scope.provide(scope)))
  app = makeApp(services)
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(dataDir, { recursive: true, force: true })
})

const withServices = <A, E>(effect: Effect.Effect<A, E, Services>) => Effect.runPromise(Effect.provide(effect, services))

interface Sent {
  readonly status: number
  readonly headers: Headers
  readonly bytes: Buffer
  readonly body: any
}

const send = async (target: { readonly handler: (request: Request) => Promise<Response> }, url: string, init: RequestInit = {}): Promise<Sent> => {
  const response = await target.handler(new Request(url.startsWith("http") ? url : `http://test${url}`, init))
  const bytes = Buffer.from(await response.arrayBuffer())
  const isJson = (response.headers.get("content-type") ?? "").includes("json")
  return { status: response.status, headers: response.headers, bytes, body: isJson && bytes.length > 0 ? JSON.parse(bytes.toString("utf8")) : undefined }
}

/** Typed clients of the probe API; the caller's token is its user id. */
const probe = typedClientFor(ProbeApi, () => app)

/** Raw API requests: only for bodies the typed client refuses to send. */
const api = (method: string, path: string, token: string, body?: unknown) =>
  send(app, path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

const expectProblem = (result: Sent, status: number, code: string) => {
  expect(result.status).toBe(status)
  expect(result.headers.get("content-type")).toContain("application/problem+json")
  expect(result.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String) })
  expect(result.body.requestId).toBe(result.headers.get("x-request-id"))
}

const newDesign = async () => {
  const userId = randomUUID() as UserId
  const design = await withServices(Effect.gen(function*() {
    const designs = yield* DesignsRepository.DesignsRepository
    return yield* designs.insertCharged({
      id: randomUUID() as DesignId,
      ownerId: userId,
      name: "Mug",
      productType: "mug",
      status: "draft",
      document: { canvas: { width: 10, height: 10, unit: "px", dpi: 300, background: null }, layers: [] }
    }, { periodStart: new Date(), limit: null }).pipe(Effect.orDie)
  }))
  return { userId, designId: design.id }
}

interface UploadRequest {
  readonly fileName: string
  readonly contentType: AllowedContentType
  readonly byteSize: number
}

const requestUpload = async (payload: UploadRequest = { fileName: "pixel.png", contentType: "image/png", byteSize: PNG.length }) => {
  const { designId, userId } = await newDesign()
  const ticket = await ok(probe(userId).assets.requestUpload({ params: { id: designId }, payload }), 201)
  return { designId, userId, ticket, asset: { id: designId, assetId: ticket.assetId } }
}

const presign = (key: string, expiresIn: Duration.Duration) =>
  withServices(Effect.gen(function*() {
    return yield* (yield* Storage.Storage).presignUpload({ key, contentType: "image/png", byteSize: PNG.length, expiresIn })
  }))

/** Flips one character of the token's signature or payload. */
const tamper = (url: string, part: 0 | 1) => {
  const token = url.slice(url.lastIndexOf("/") + 1)
  const pieces = token.split(".")
  const piece = pieces[part]!
  pieces[part] = piece.slice(0, 3) + (piece[3] === "A" ? "B" : "A") + piece.slice(4)
  return `${url.slice(0, url.lastIndexOf("/") + 1)}${pieces.join(".")}`
}

describe("local uploads through signed URLs", () => {
  it("request, PUT, complete, download: the whole flow on the API itself", async () => {
    const { designId, ticket, userId, asset } = await requestUpload()
    const assets = probe(userId).assets
    expect(ticket).toMatchObject({ method: "PUT", headers: { "Content-Type": "image/png" }, assetId: expect.any(String) })
    expect(ticket.uploadUrl).toMatch(/^http:\/\/test\/uploads\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
    expect(new Date(ticket.expiresAt).getTime()).toBeGreaterThan(Date.now() + 14 * 60_000)

    const notYet = await failsWithProblem(assets.complete({ params: asset }), "AssetNotUploaded", 409, "asset_not_uploaded")
    expect(notYet.error.reason).toBe("missing")

    // Raw: the upload and download URLs are the local store's routes beside the API.
    const uploaded = await send(app, ticket.uploadUrl, { method: "PUT", headers: { ...ticket.headers }, body: PNG })
    expect(uploaded.status).toBe(200)

    const completed = await ok(assets.complete({ params: asset }), 200)
    expect(completed).toMatchObject({
      id: ticket.assetId,
      designId,
      fileName: "pixel.png",
      contentType: "image/png",
      byteSize: PNG.length,
      status: "complete"
    })
    expect(completed.completedAt).not.toBeNull()

    const link = await ok(assets.download({ params: asset }), 200)
    expect(link.url).toMatch(/^http:\/\/test\/uploads\//)
    const downloaded = await send(app, link.url)
    expect(downloaded.status).toBe(200)
    expect(downloaded.bytes).toEqual(PNG)
    expect(downloaded.headers.get("content-type")).toBe("image/png")
    expect(downloaded.headers.get("content-length")).toBe(String(PNG.length))
    expect(downloaded.headers.get("x-content-type-options")).toBe("nosniff")
    expect(downloaded.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/)

    // An upload URL does not download, a download URL does not upload.
    expectProblem(await send(app, ticket.uploadUrl), 403, "invalid_upload_url")
    expectProblem(await send(app, link.url, { method: "PUT", headers: { "content-type": "image/png" }, body: PNG }), 403, "invalid_upload_url")
  })

  it("a tampered token is 403, an expired one 410, and nothing is written", async () => {
    const { ticket } = await requestUpload()
    for (const url of [tamper(ticket.uploadUrl, 0), tamper(ticket.uploadUrl, 1), `${ticket.uploadUrl}x`, "http://test/uploads/garbage"]) {
      const result = await send(app, url, { method: "PUT", headers: { "content-type": "image/png" }, body: PNG })
      expectProblem(result, 403, "invalid_upload_url")
    }
    const key = `users/${randomUUID()}/designs/${randomUUID()}/${randomUUID()}/late.png`
    const expired = await presign(key, Duration.millis(1))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expectProblem(await send(app, expired.url, { method: "PUT", headers: expired.headers, body: PNG }), 410, "upload_url_expired")
    expect(await withServices(Effect.gen(function*() {
      return yield* (yield* Storage.Storage).head(key)
    }))).toEqual(Option.none())
  })

  it("refuses another size (400) or content type (415), keeping nothing", async () => {
    const { ticket, userId, asset } = await requestUpload()
    const put = (body: Uint8Array, contentType = "image/png") =>
      send(app, ticket.uploadUrl, { method: "PUT", headers: { "content-type": contentType }, body })

    expectProblem(await put(PNG.subarray(0, 10)), 400, "size_mismatch")
    expectProblem(await put(Buffer.concat([PNG, Buffer.from("trailing")])), 400, "size_mismatch")
    // Without a Content-Length (a stream), the bytes are counted as they arrive.
    const streamed = await send(app, ticket.uploadUrl, {
      method: "PUT",
      headers: { "content-type": "image/png" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(PNG)
          controller.enqueue(PNG)
          controller.close()
        }
      }),
      duplex: "half"
    } as RequestInit)
    expectProblem(streamed, 400, "size_mismatch")
    expectProblem(await put(PNG, "image/svg+xml"), 415, "content_type_mismatch")
    expectProblem(await put(PNG, "text/html"), 415, "content_type_mismatch")

    const complete = await failsWithProblem(probe(userId).assets.complete({ params: asset }), "AssetNotUploaded", 409, "asset_not_uploaded")
    expect(complete.error.reason).toBe("missing")
    // The right bytes still go through afterwards.
    expect((await put(PNG)).status).toBe(200)
  })

  it("serves an SVG so that it cannot run as a page", async () => {
    const { ticket, userId, asset } = await requestUpload({ fileName: "logo.svg", contentType: "image/svg+xml", byteSize: SVG.length })
    expect((await send(app, ticket.uploadUrl, { method: "PUT", headers: { ...ticket.headers }, body: SVG })).status).toBe(200)
    await ok(probe(userId).assets.complete({ params: asset }), 200)
    const link = await ok(probe(userId).assets.download({ params: asset }))

    const downloaded = await send(app, link.url)
    expect(downloaded.headers.get("content-type")).toBe("image/svg+xml")
    expect(downloaded.headers.get("x-content-type-options")).toBe("nosniff")
    expect(downloaded.headers.get("content-security-policy")).toContain("default-src 'none'")

    // The route's own policy (the request pipeline currently replaces it with the API's, which is stricter still).
    const routesOnly = HttpRouter.toWebHandler(
      LocalUploadRoutes.pipe(Layer.provideMerge(Layer.succeedContext(services)), Layer.provide(HttpServer.layerServices)),
      { disableLogger: true }
    )
    try {
      const raw = await send(routesOnly, link.url)
      expect(raw.status).toBe(200)
      expect(raw.headers.get("content-security-policy")).toBe(SVG_CONTENT_SECURITY_POLICY)
      expect(raw.bytes).toEqual(SVG)
    } finally {
      await routesOnly.dispose()
    }
  })

  it("deletePrefix removes the user's files, and only theirs", async () => {
    const mine = await requestUpload()
    const theirs = await requestUpload()
    for (const { ticket } of [mine, theirs]) {
      expect((await send(app, ticket.uploadUrl, { method: "PUT", headers: { ...ticket.headers }, body: PNG })).status).toBe(200)
    }
    const deleted = await withServices(Effect.gen(function*() {
      return yield* (yield* Storage.Storage).deletePrefix(`users/${mine.userId}/`)
    }))
    expect(deleted).toBe(1)
    const complete = (upload: typeof mine) => probe(upload.userId).assets.complete({ params: upload.asset })
    await failsWithProblem(complete(mine), "AssetNotUploaded", 409, "asset_not_uploaded")
    await ok(complete(theirs), 200)
  })

  it("answers another method on an upload URL with 405 and Allow", async () => {
    const result = await send(app, "/uploads/anything", { method: "DELETE" })
    expectProblem(result, 405, "method_not_allowed")
    expect(result.headers.get("allow")).toBe("GET, HEAD, PUT")
  })
})

describe("the assets endpoints", () => {
  it("someone else's design is 404, like a missing one", async () => {
    const { designId } = await newDesign()
    const assets = probe(randomUUID()).assets
    const payload: UploadRequest = { fileName: "a.png", contentType: "image/png", byteSize: 10 }
    await failsWithProblem(assets.requestUpload({ params: { id: designId }, payload }), "NotFound", 404, "not_found")
    await failsWithProblem(assets.requestUpload({ params: { id: randomUUID() as DesignId }, payload }), "NotFound", 404, "not_found")
    await failsWithProblem(assets.download({ params: { id: designId, assetId: randomUUID() as AssetId } }), "NotFound", 404, "not_found")
  })

  it("validates the request: content type, size, file name", async () => {
    const { designId, userId } = await newDesign()
    // Raw: the typed client refuses this body before sending it.
    const invalid = await api("POST", `/api/v1/designs/${designId}/assets`, userId, { fileName: "", contentType: "text/html", byteSize: 0, extra: true })
    expectProblem(invalid, 400, "validation_failed")
    expect(invalid.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["byteSize", "contentType", "extra", "fileName"])

    const tooLarge = await failsWithProblem(
      probe(userId).assets.requestUpload({ params: { id: designId }, payload: { fileName: "huge.png", contentType: "image/png", byteSize: MAX_BYTES + 1 } }),
      "AssetTooLarge",
      413,
      "asset_too_large"
    )
    expect(tooLarge.error.maxBytes).toBe(MAX_BYTES)
  })

  it("a storage outage is a 503 problem on the assets endpoints only", async () => {
    const down = Layer.merge(
      Layer.succeed(Storage.Storage, Storage.Storage.of({
        kind: "s3",
        description: "down",
        presignUpload: () => Effect.fail(new Storage.StorageUnavailable({ operation: "presignUpload", cause: "down" })),
        head: () => Effect.fail(new Storage.StorageUnavailable({ operation: "head", cause: "down" })),
        presignDownload: () => Effect.fail(new Storage.StorageUnavailable({ operation: "presignDownload", cause: "down" })),
        deletePrefix: () => Effect.fail(new Storage.StorageUnavailable({ operation: "deletePrefix", cause: "down" }))
      })),
      Layer.succeed(Storage.LocalUploads, Option.none())
    )
    const downScope = Effect.runSync(Scope.make())
    const downServices = await Effect.runPromise(Layer.build(servicesLayer(down)).pipe(Scope.provide(downScope)))
    const downApp = makeApp(downServices)
    try {
      const design = await Effect.runPromise(Effect.provide(Effect.gen(function*() {
        return yield* (yield* DesignsRepository.DesignsRepository).insertCharged({
          id: randomUUID() as DesignId,
          ownerId: "00000000-0000-4000-8000-000000000001" as UserId,
          name: "Mug",
          productType: "mug",
          status: "draft",
          document: { canvas: { width: 10, height: 10, unit: "px", dpi: 300, background: null }, layers: [] }
        }, { periodStart: new Date(), limit: null }).pipe(Effect.orDie)
      }), downServices))
      const onDown = typedClientFor(ProbeApi, () => downApp)("00000000-0000-4000-8000-000000000001")
      const result = await failsWithProblem(
        onDown.assets.requestUpload({ params: { id: design.id }, payload: { fileName: "a.png", contentType: "image/png", byteSize: 10 } }),
        "ServiceUnavailable",
        503,
        "service_unavailable"
      )
      expect(result.error.detail).toContain("storage")
      // Storage is not local here: the upload routes answer 404.
      expectProblem(await send(downApp, "/uploads/anything"), 404, "not_found")
      expectProblem(await send(downApp, "/uploads/anything", { method: "PUT", body: "x" }), 404, "not_found")
    } finally {
      await downApp.dispose()
      await Effect.runPromise(Scope.close(downScope, Exit.void))
    }
  })
})
