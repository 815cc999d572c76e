import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer, type Server, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3"
import { Duration, Effect, Layer, Logger, ManagedRuntime, Option, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Storage from "../../src/capabilities/storage/Storage.ts"
import * as StorageConfig from "../../src/config/StorageConfig.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Assets from "../../src/features/assets/Assets.ts"
import * as AssetsRepository from "../../src/features/assets/AssetsRepository.ts"
import * as DesignsRepository from "../../src/features/designs/DesignsRepository.ts"
import { freePort } from "../support/servers.ts"

/** s3rver ships no types: the little of it used here. */
interface S3rverInstance {
  run(): Promise<{ readonly port: number }>
  close(): Promise<void>
}
const S3rver = createRequire(import.meta.url)("s3rver") as new (options: Record<string, unknown>) => S3rverInstance

const BUCKET = "customify-test"
/** s3rver's built-in account. */
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }

/** A 1x1 transparent PNG: real bytes, 68 of them. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)
const SVG = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><rect width="1" height="1"/></svg>`)

const dir = mkdtempSync(join(tmpdir(), "customify-s3rver-"))
let server: S3rverInstance
let endpoint: string

const settingsFor = (url: string) =>
  StorageConfig.layerTest({
    bucket: Option.some(BUCKET),
    endpoint: Option.some(url),
    region: "us-east-1",
    accessKeyId: Option.some(Redacted.make(CREDENTIALS.accessKeyId)),
    secretAccessKey: Option.some(Redacted.make(CREDENTIALS.secretAccessKey)),
    forcePathStyle: true,
    uploadMaxBytes: 1024 * 1024
  })

const quiet = Logger.layer([])

let runtime: ManagedRuntime.ManagedRuntime<
  Storage.Storage | StorageConfig.StorageConfig | AssetsRepository.AssetsRepository | DesignsRepository.DesignsRepository,
  never
>
const run = <A, E>(effect: Effect.Effect<A, E, Storage.Storage | StorageConfig.StorageConfig | AssetsRepository.AssetsRepository | DesignsRepository.DesignsRepository>) =>
  runtime.runPromise(effect)
const storage = Effect.gen(function*() {
  return yield* Storage.Storage
})

beforeAll(async () => {
  server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: dir })
  const address = await server.run()
  endpoint = `http://127.0.0.1:${address.port}`
  const admin = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: CREDENTIALS })
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }))
  admin.destroy()
  runtime = ManagedRuntime.make(
    Layer.mergeAll(Storage.layerS3(), AssetsRepository.layerMemory, DesignsRepository.layerMemory).pipe(
      Layer.provideMerge(settingsFor(endpoint)),
      Layer.provideMerge(quiet)
    )
  )
})

afterAll(async () => {
  await runtime?.dispose()
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

const put = (url: string, body: Uint8Array, headers: Record<string, string>) =>
  fetch(url, { method: "PUT", body, headers })

const userKey = (userId: string, name: string) => `users/${userId}/designs/${randomUUID()}/${randomUUID()}/${name}`

describe("S3 storage against an S3-protocol server", () => {
  it("describes itself without credentials", async () => {
    const s3 = await run(storage)
    expect(s3.kind).toBe("s3")
    expect(s3.description).toContain(BUCKET)
    expect(s3.description).not.toContain("S3RVER")
  })

  it("presigns a PUT that signs the content type and length; head shows what arrived", async () => {
    const key = userKey(randomUUID(), "pixel.png")
    const upload = await run(Effect.flatMap(storage, (s) =>
      s.presignUpload({ key, contentType: "image/png", byteSize: PNG.length, expiresIn: Duration.minutes(15) })))
    expect(upload.method).toBe("PUT")
    expect(upload.headers).toEqual({ "Content-Type": "image/png" })
    const url = new URL(upload.url)
    expect(url.origin).toBe(endpoint)
    expect(url.pathname).toBe(`/${BUCKET}/${key}`)
    expect(url.searchParams.get("X-Amz-SignedHeaders")?.split(";")).toEqual(["content-length", "content-type", "host"])
    expect(url.searchParams.get("X-Amz-Expires")).toBe("900")
    expect(upload.expiresAt.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000)

    expect(await run(Effect.flatMap(storage, (s) => s.head(key)))).toEqual(Option.none())
    const response = await put(upload.url, PNG, upload.headers)
    expect(response.status).toBe(200)
    expect(await run(Effect.flatMap(storage, (s) => s.head(key)))).toEqual(
      Option.some({ byteSize: PNG.length, contentType: "image/png" })
    )

    const download = await run(Effect.flatMap(storage, (s) => s.presignDownload(key, Duration.minutes(5))))
    expect(download.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 5 * 60_000)
    const fetched = await fetch(download.url)
    expect(fetched.status).toBe(200)
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(PNG)
  })

  it("downloads an SVG as an attachment (opened directly, it never renders in the store's origin)", async () => {
    const key = userKey(randomUUID(), "shape.svg")
    const upload = await run(Effect.flatMap(storage, (s) =>
      s.presignUpload({ key, contentType: "image/svg+xml", byteSize: SVG.length, expiresIn: Duration.minutes(1) })))
    expect((await put(upload.url, SVG, upload.headers)).status).toBe(200)
    const download = await run(Effect.flatMap(storage, (s) => s.presignDownload(key, Duration.minutes(1))))
    const fetched = await fetch(download.url)
    expect(fetched.headers.get("content-disposition")).toBe("attachment")
    expect(Buffer.from(await fetched.arrayBuffer())).toEqual(SVG)
  })

  it("the whole asset flow: request, PUT, complete, download; a wrong size is caught", async () => {
    const actor: Actor = { userId: randomUUID() as UserId, role: "user", sessionId: "s".repeat(22) }
    const design = await run(Effect.gen(function*() {
      const designs = yield* DesignsRepository.DesignsRepository
      return yield* designs.insertCharged({
        id: randomUUID() as DesignId,
        ownerId: actor.userId,
        name: "Mug",
        productType: "mug",
        status: "draft",
        document: { canvas: { width: 10, height: 10, unit: "px", dpi: 300, background: null }, layers: [] }
      }, { periodStart: new Date(), limit: null }).pipe(Effect.orDie)
    }))

    // Declared 10 bytes more than is sent. Real S3 refuses the PUT itself (the length is signed);
    // a store that does not check signatures keeps it, and completion catches the difference.
    const wrong = await run(Assets.requestUpload(actor, design.id, { fileName: "pixel.png", contentType: "image/png", byteSize: PNG.length + 10 }))
    expect(wrong.asset.key.startsWith(`users/${actor.userId}/designs/${design.id}/`)).toBe(true)
    const wrongPut = await put(wrong.url, PNG, wrong.headers)
    const refused = await run(Effect.flip(Assets.completeUpload(actor, design.id, wrong.asset.id)))
    expect(refused._tag).toBe("AssetNotUploaded")
    expect(refused._tag === "AssetNotUploaded" && refused.reason).toBe(wrongPut.ok ? "size_mismatch" : "missing")

    // Declared PNG, sent as JPEG: caught by type.
    const mistyped = await run(Assets.requestUpload(actor, design.id, { fileName: "pixel.png", contentType: "image/png", byteSize: PNG.length }))
    const mistypedPut = await put(mistyped.url, PNG, { "Content-Type": "image/jpeg" })
    const typeRefused = await run(Effect.flip(Assets.completeUpload(actor, design.id, mistyped.asset.id)))
    expect(typeRefused._tag === "AssetNotUploaded" && typeRefused.reason).toBe(mistypedPut.ok ? "type_mismatch" : "missing")

    const right = await run(Assets.requestUpload(actor, design.id, { fileName: "pixel.png", contentType: "image/png", byteSize: PNG.length }))
    expect((await put(right.url, PNG, right.headers)).status).toBe(200)
    const completed = await run(Assets.completeUpload(actor, design.id, right.asset.id))
    expect(completed.status).toBe("complete")
    const link = await run(Assets.getDownload(actor, design.id, right.asset.id))
    expect(Buffer.from(await (await fetch(link.url)).arrayBuffer())).toEqual(PNG)
  })

  it("deletePrefix removes every object under the user's prefix, and nothing else", async () => {
    const user = randomUUID()
    const other = randomUUID()
    const mine = [userKey(user, "a.png"), userKey(user, "b.png"), userKey(user, "c.png")]
    const theirs = userKey(other, "a.png")
    for (const key of [...mine, theirs]) {
      const upload = await run(Effect.flatMap(storage, (s) =>
        s.presignUpload({ key, contentType: "image/png", byteSize: PNG.length, expiresIn: Duration.minutes(1) })))
      expect((await put(upload.url, PNG, upload.headers)).status).toBe(200)
    }
    expect(await run(Effect.flatMap(storage, (s) => s.deletePrefix(`users/${user}/`)))).toBe(3)
    for (const key of mine) expect(Option.isNone(await run(Effect.flatMap(storage, (s) => s.head(key))))).toBe(true)
    expect(Option.isSome(await run(Effect.flatMap(storage, (s) => s.head(theirs))))).toBe(true)
    expect(await run(Effect.flatMap(storage, (s) => s.deletePrefix(`users/${user}/`)))).toBe(0)
  })
})

describe("S3 storage outages", () => {
  const tuning = {
    connectTimeout: Duration.millis(300),
    requestTimeout: Duration.millis(300),
    maxAttempts: 2,
    operationTimeout: Duration.seconds(3)
  }
  const failureOf = (url: string) =>
    Effect.runPromise(Effect.gen(function*() {
      const s3 = yield* Storage.Storage
      const started = Date.now()
      const error = yield* Effect.flip(s3.head(userKey(randomUUID(), "a.png")))
      return { error, elapsed: Date.now() - started }
    }).pipe(Effect.provide(Storage.layerS3(tuning).pipe(Layer.provide(settingsFor(url)), Layer.provideMerge(quiet)))))

  it("an endpoint nobody listens on fails StorageUnavailable at once", async () => {
    const { elapsed, error } = await failureOf(`http://127.0.0.1:${await freePort()}`)
    expect(error._tag).toBe("StorageUnavailable")
    expect(error.operation).toBe("head")
    expect(elapsed).toBeLessThan(3_000)
  })

  it("an endpoint that accepts and never answers fails StorageUnavailable within the timeout", async () => {
    const sockets = new Set<Socket>()
    const silent: Server = createServer((socket) => void sockets.add(socket))
    const port = await new Promise<number>((resolve) =>
      silent.listen(0, "127.0.0.1", () => resolve((silent.address() as { port: number }).port)))
    try {
      const { elapsed, error } = await failureOf(`http://127.0.0.1:${port}`)
      expect(error._tag).toBe("StorageUnavailable")
      // Two attempts of 300 ms plus backoff, well inside the 3 s bound on the call.
      expect(elapsed).toBeGreaterThanOrEqual(300)
      expect(elapsed).toBeLessThan(3_500)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => silent.close(resolve))
    }
  })
})
