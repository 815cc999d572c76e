import { randomUUID } from "node:crypto"
import { describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { assert, expect } from "vitest"
import * as Transactions from "../../src/capabilities/database/Transactions.ts"
import * as Storage from "../../src/capabilities/storage/Storage.ts"
import * as StorageConfig from "../../src/config/StorageConfig.ts"
import { ALLOWED_CONTENT_TYPES, type AllowedContentType, type AssetId, assetKey, sanitizeFileName } from "../../src/domain/Asset.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Assets from "../../src/features/assets/Assets.ts"
import * as AssetsRepository from "../../src/features/assets/AssetsRepository.ts"
import * as DesignsRepository from "../../src/features/designs/DesignsRepository.ts"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const MAX_BYTES = 1_000_000

const memoryLayer = (storage: Layer.Layer<Storage.Storage | Storage.MemoryObjects> = Storage.layerMemory) =>
  Layer.mergeAll(AssetsRepository.layerMemory, DesignsRepository.layerMemory, storage).pipe(
    Layer.provideMerge(StorageConfig.layerTest({ uploadMaxBytes: MAX_BYTES }))
  )

const newActor = (): Actor => ({ userId: randomUUID() as UserId, role: "user", sessionId: "s".repeat(22) })

const DOCUMENT: DesignDocument = {
  canvas: { width: 800, height: 600, unit: "px", dpi: 300, background: "#ffffff" },
  layers: []
}

const designOf = (actor: Actor) =>
  Effect.gen(function*() {
    const designs = yield* DesignsRepository.DesignsRepository
    return yield* designs.insertCharged(
      { id: randomUUID() as DesignId, ownerId: actor.userId, name: "Mug", productType: "mug", status: "draft", document: DOCUMENT },
      { periodStart: new Date(Date.UTC(2025, 0, 1)), limit: null }
    ).pipe(Effect.orDie)
  })

const PNG = { fileName: "photo.png", contentType: "image/png" as const, byteSize: 68 }

/** The client's PUT, in the memory layer. */
const upload = (key: string, byteSize: number, contentType: string) =>
  Effect.gen(function*() {
    yield* (yield* Storage.MemoryObjects).put(key, new Uint8Array(byteSize).fill(7), contentType)
  })

/** A completed upload of `actor` under a new design of theirs. */
const completedAsset = (actor: Actor) =>
  Effect.gen(function*() {
    const design = yield* designOf(actor)
    const grant = yield* Assets.requestUpload(actor, design.id, PNG)
    yield* upload(grant.asset.key, PNG.byteSize, PNG.contentType)
    return yield* Assets.completeUpload(actor, design.id, grant.asset.id)
  })

const imageLayer = (id: string, assetId: string) => ({
  type: "image" as const, id, x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId
})
const textLayer = (id: string) => ({
  type: "text" as const, id, x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0,
  content: "Hi", fontFamily: "Inter" as const, fontSize: 12, color: "#000000", align: "left" as const
})

/** A Storage whose every call fails as during an outage. */
const unavailableStorage = Layer.merge(
  Layer.succeed(Storage.Storage, Storage.Storage.of({
    kind: "s3",
    description: "down",
    presignUpload: () => Effect.fail(new Storage.StorageUnavailable({ operation: "presignUpload", cause: "down" })),
    head: () => Effect.fail(new Storage.StorageUnavailable({ operation: "head", cause: "down" })),
    presignDownload: () => Effect.fail(new Storage.StorageUnavailable({ operation: "presignDownload", cause: "down" })),
    deletePrefix: () => Effect.fail(new Storage.StorageUnavailable({ operation: "deletePrefix", cause: "down" }))
  })),
  Layer.succeed(Storage.MemoryObjects, Storage.MemoryObjects.of({
    put: () => Effect.void,
    get: () => Effect.succeed(Option.none()),
    keys: Effect.succeed([])
  }))
)

// ---------------------------------------------------------------------------------------------
// requestUpload
// ---------------------------------------------------------------------------------------------

describe("requestUpload", () => {
  it.effect("records a pending asset and hands out a PUT for its key under the owner and design", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 4, 10, 12))
      const actor = newActor()
      const design = yield* designOf(actor)
      const grant = yield* Assets.requestUpload(actor, design.id, PNG)
      expect(grant.method).toBe("PUT")
      expect(grant.headers).toEqual({ "Content-Type": "image/png" })
      expect(grant.url.startsWith("memory://upload/")).toBe(true)
      expect(grant.expiresAt.toISOString()).toBe("2025-05-10T12:15:00.000Z")
      expect(grant.asset).toMatchObject({
        ownerId: actor.userId,
        designId: design.id,
        fileName: "photo.png",
        contentType: "image/png",
        byteSize: 68,
        status: "pending",
        completedAt: null
      })
      expect(grant.asset.key).toBe(`users/${actor.userId}/designs/${design.id}/${grant.asset.id}/photo.png`)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("keeps the client's file name out of the key's structure", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const design = yield* designOf(actor)
      for (const fileName of ["../../../etc/passwd", "..", "a/b\\c.svg", "/absolute.svg", "évènement été.SVG", "  .hidden  "]) {
        const grant = yield* Assets.requestUpload(actor, design.id, { fileName, contentType: "image/svg+xml", byteSize: 10 })
        const segments = grant.asset.key.split("/")
        expect(segments.slice(0, 5)).toEqual(["users", actor.userId, "designs", design.id, grant.asset.id])
        expect(segments).toHaveLength(6)
        expect(segments[5]).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*\.svg$/)
        expect(segments[5]).not.toContain("..")
        // The name as given is kept for display only.
        expect(grant.asset.fileName).toBe(fileName)
      }
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("refuses a file larger than the configured maximum, and nothing else", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const design = yield* designOf(actor)
      const error = yield* Effect.flip(Assets.requestUpload(actor, design.id, { ...PNG, byteSize: MAX_BYTES + 1 }))
      expect(error).toMatchObject({ _tag: "AssetTooLarge", maxBytes: MAX_BYTES, byteSize: MAX_BYTES + 1 })
      const exact = yield* Assets.requestUpload(actor, design.id, { ...PNG, byteSize: MAX_BYTES })
      expect(exact.asset.byteSize).toBe(MAX_BYTES)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("someone else's design answers exactly like a missing one", () =>
    Effect.gen(function*() {
      const owner = newActor()
      const design = yield* designOf(owner)
      const other = newActor()
      const foreign = yield* Effect.flip(Assets.requestUpload(other, design.id, PNG))
      const missing = yield* Effect.flip(Assets.requestUpload(other, randomUUID() as DesignId, PNG))
      expect(foreign._tag).toBe("DesignNotFound")
      expect(missing).toEqual(foreign)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a storage outage is StorageUnavailable", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const design = yield* designOf(actor)
      const error = yield* Effect.flip(Assets.requestUpload(actor, design.id, PNG))
      expect(error._tag).toBe("StorageUnavailable")
    }).pipe(Effect.provide(memoryLayer(unavailableStorage))))
})

// ---------------------------------------------------------------------------------------------
// completeUpload
// ---------------------------------------------------------------------------------------------

describe("completeUpload", () => {
  it.effect("checks the stored object: missing, wrong size, wrong type, then right", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 4, 10, 12))
      const actor = newActor()
      const design = yield* designOf(actor)
      const grant = yield* Assets.requestUpload(actor, design.id, PNG)
      const complete = Assets.completeUpload(actor, design.id, grant.asset.id)

      expect(yield* Effect.flip(complete)).toMatchObject({ _tag: "AssetNotUploaded", reason: "missing" })
      yield* upload(grant.asset.key, PNG.byteSize + 1, "image/png")
      expect(yield* Effect.flip(complete)).toMatchObject({ _tag: "AssetNotUploaded", reason: "size_mismatch" })
      yield* upload(grant.asset.key, PNG.byteSize, "image/svg+xml")
      expect(yield* Effect.flip(complete)).toMatchObject({ _tag: "AssetNotUploaded", reason: "type_mismatch" })

      yield* upload(grant.asset.key, PNG.byteSize, "image/png")
      yield* TestClock.adjust(Duration.minutes(1))
      const done = yield* complete
      expect(done.status).toBe("complete")
      expect(done.completedAt?.toISOString()).toBe("2025-05-10T12:01:00.000Z")
      // Again: harmless, same answer.
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* complete).toEqual(done)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("accepts a content type with parameters or in another case", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const design = yield* designOf(actor)
      const grant = yield* Assets.requestUpload(actor, design.id, PNG)
      yield* upload(grant.asset.key, PNG.byteSize, "Image/PNG; charset=binary")
      expect((yield* Assets.completeUpload(actor, design.id, grant.asset.id)).status).toBe("complete")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("someone else's design or asset, or an asset of another design, is not found", () =>
    Effect.gen(function*() {
      const owner = newActor()
      const design = yield* designOf(owner)
      const otherDesign = yield* designOf(owner)
      const grant = yield* Assets.requestUpload(owner, design.id, PNG)
      yield* upload(grant.asset.key, PNG.byteSize, "image/png")

      const stranger = newActor()
      expect((yield* Effect.flip(Assets.completeUpload(stranger, design.id, grant.asset.id)))._tag).toBe("DesignNotFound")
      expect((yield* Effect.flip(Assets.completeUpload(owner, otherDesign.id, grant.asset.id)))._tag).toBe("AssetNotFound")
      expect((yield* Effect.flip(Assets.completeUpload(owner, design.id, randomUUID() as AssetId)))._tag).toBe("AssetNotFound")
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// getDownload
// ---------------------------------------------------------------------------------------------

describe("getDownload", () => {
  it.effect("only for completed assets, with a short-lived URL", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 4, 10, 12))
      const actor = newActor()
      const design = yield* designOf(actor)
      const grant = yield* Assets.requestUpload(actor, design.id, PNG)
      expect(yield* Effect.flip(Assets.getDownload(actor, design.id, grant.asset.id)))
        .toMatchObject({ _tag: "AssetNotUploaded", reason: "pending" })
      yield* upload(grant.asset.key, PNG.byteSize, "image/png")
      yield* Assets.completeUpload(actor, design.id, grant.asset.id)
      const link = yield* Assets.getDownload(actor, design.id, grant.asset.id)
      expect(link.url.startsWith(`memory://download/${grant.asset.key}`)).toBe(true)
      expect(link.expiresAt.toISOString()).toBe("2025-05-10T12:05:00.000Z")

      const stranger = newActor()
      expect((yield* Effect.flip(Assets.getDownload(stranger, design.id, grant.asset.id)))._tag).toBe("DesignNotFound")
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// checkImageReferences
// ---------------------------------------------------------------------------------------------

describe("checkImageReferences", () => {
  it.effect("accepts completed assets of the owner, lists every other image layer by path", () =>
    Effect.gen(function*() {
      const owner = newActor()
      const mine = yield* completedAsset(owner)
      const design = yield* designOf(owner)
      const pending = (yield* Assets.requestUpload(owner, design.id, PNG)).asset
      const theirs = yield* completedAsset(newActor())

      const document: DesignDocument = {
        ...DOCUMENT,
        layers: [
          imageLayer("ok", mine.id),
          textLayer("text"),
          imageLayer("pending", pending.id),
          imageLayer("foreign", theirs.id),
          imageLayer("unknown", randomUUID()),
          imageLayer("upper", mine.id.toUpperCase())
        ]
      }
      const error = yield* Effect.flip(Assets.checkImageReferences(owner.userId, document))
      assert(error._tag === "InvalidAssetReference")
      expect(error.paths).toEqual(["document.layers.2.assetId", "document.layers.3.assetId", "document.layers.4.assetId"])

      yield* Assets.checkImageReferences(owner.userId, { ...DOCUMENT, layers: [imageLayer("a", mine.id), textLayer("b")] })
      yield* Assets.checkImageReferences(owner.userId, DOCUMENT)
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// deleteUserObjects
// ---------------------------------------------------------------------------------------------

describe("deleteUserObjects", () => {
  it.effect("deletes the user's objects, and only theirs", () =>
    Effect.gen(function*() {
      const user = newActor()
      const other = newActor()
      yield* completedAsset(user)
      yield* completedAsset(user)
      const kept = yield* completedAsset(other)
      expect(yield* Assets.deleteUserObjects(user.userId)).toBe(2)
      expect(yield* (yield* Storage.MemoryObjects).keys).toEqual([kept.key])
      expect(yield* Assets.deleteUserObjects(user.userId)).toBe(0)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a storage outage is StorageUnavailable (the job retries)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Assets.deleteUserObjects(newActor().userId))
      expect(error._tag).toBe("StorageUnavailable")
    }).pipe(Effect.provide(memoryLayer(unavailableStorage))))
})

// ---------------------------------------------------------------------------------------------
// Limits and expiry (the SQL repository's are tested on PostgreSQL, test/http/limits.test.ts)
// ---------------------------------------------------------------------------------------------

const limitedLayer = (limits: Partial<StorageConfig.StorageSettings>) =>
  Layer.mergeAll(AssetsRepository.layerMemory, DesignsRepository.layerMemory, Storage.layerMemory, Transactions.layerMemory).pipe(
    Layer.provideMerge(StorageConfig.layerTest({ uploadMaxBytes: MAX_BYTES, ...limits }))
  )

describe("upload limits", () => {
  it.effect("a design takes UPLOADS_PER_DESIGN uploads, completed ones included", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const design = yield* designOf(actor)
      const first = yield* Assets.requestUpload(actor, design.id, PNG)
      yield* upload(first.asset.key, PNG.byteSize, PNG.contentType)
      yield* Assets.completeUpload(actor, design.id, first.asset.id)
      yield* Assets.requestUpload(actor, design.id, PNG)
      yield* Assets.requestUpload(actor, design.id, PNG)
      const refused = yield* Effect.flip(Assets.requestUpload(actor, design.id, PNG))
      expect(refused).toMatchObject({ _tag: "UploadLimitReached", scope: "design", limit: 3 })
      yield* Assets.requestUpload(actor, (yield* designOf(actor)).id, PNG)
    }).pipe(Effect.provide(limitedLayer({ uploadsPerDesign: 3, pendingUploadsPerUser: 10 }))))

  it.effect("a user has PENDING_UPLOADS_PER_USER pending uploads across designs; completing one makes room", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const grants = []
      for (let i = 0; i < 2; i++) grants.push(yield* Assets.requestUpload(actor, (yield* designOf(actor)).id, PNG))
      const refused = yield* Effect.flip(Assets.requestUpload(actor, (yield* designOf(actor)).id, PNG))
      expect(refused).toMatchObject({ _tag: "UploadLimitReached", scope: "pending", limit: 2 })
      const other = newActor()
      yield* Assets.requestUpload(other, (yield* designOf(other)).id, PNG)
      yield* upload(grants[0]!.asset.key, PNG.byteSize, PNG.contentType)
      yield* Assets.completeUpload(actor, grants[0]!.asset.designId, grants[0]!.asset.id)
      yield* Assets.requestUpload(actor, (yield* designOf(actor)).id, PNG)
    }).pipe(Effect.provide(limitedLayer({ uploadsPerDesign: 50, pendingUploadsPerUser: 2 }))))
})

describe("removeExpiredUploads", () => {
  it.effect("removes a pending upload and its object once its URL expired PENDING_UPLOAD_GRACE ago, not before", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const design = yield* designOf(actor)
      const done = yield* Assets.requestUpload(actor, design.id, PNG)
      yield* upload(done.asset.key, PNG.byteSize, PNG.contentType)
      yield* Assets.completeUpload(actor, design.id, done.asset.id)
      const abandoned = yield* Assets.requestUpload(actor, design.id, PNG)
      yield* upload(abandoned.asset.key, PNG.byteSize, PNG.contentType)
      const objects = yield* Storage.MemoryObjects

      // UPLOAD_URL_TTL (15 minutes) plus the grace, to the millisecond.
      yield* TestClock.adjust(Duration.sum(Duration.minutes(15), Assets.PENDING_UPLOAD_GRACE))
      expect(yield* Assets.removeExpiredUploads()).toBe(0)
      const fresh = yield* Assets.requestUpload(actor, design.id, PNG)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Assets.removeExpiredUploads()).toBe(1)
      expect(yield* objects.keys).toEqual([done.asset.key].sort())
      const repository = yield* AssetsRepository.AssetsRepository
      expect(yield* repository.find(design.id, abandoned.asset.id)).toEqual(Option.none())
      expect(Option.isSome(yield* repository.find(design.id, done.asset.id))).toBe(true)
      expect(Option.isSome(yield* repository.find(design.id, fresh.asset.id))).toBe(true)
      // Completing what was removed: gone. Running again: nothing more.
      expect((yield* Effect.flip(Assets.completeUpload(actor, design.id, abandoned.asset.id)))._tag).toBe("AssetNotFound")
      expect(yield* Assets.removeExpiredUploads()).toBe(0)
    }).pipe(Effect.provide(limitedLayer({}))))

  it.effect("a completion racing the removal answers AssetNotFound, not an asset whose row and object are gone", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const design = yield* designOf(actor)
      const grant = yield* Assets.requestUpload(actor, design.id, PNG)
      yield* upload(grant.asset.key, PNG.byteSize, PNG.contentType)
      // The sweep's transaction deletes the row between the completion's read and its update.
      const repository = yield* AssetsRepository.AssetsRepository
      const racing = AssetsRepository.AssetsRepository.of({
        ...repository,
        markComplete: (id, at) =>
          Effect.andThen(repository.deletePending(id, new Date(at.getTime() + 1)), repository.markComplete(id, at))
      })
      const error = yield* Effect.flip(
        Assets.completeUpload(actor, design.id, grant.asset.id).pipe(Effect.provideService(AssetsRepository.AssetsRepository, racing))
      )
      expect(error._tag).toBe("AssetNotFound")
    }).pipe(Effect.provide(limitedLayer({}))))
})

// ---------------------------------------------------------------------------------------------
// Keys and the memory layer
// ---------------------------------------------------------------------------------------------

describe("storage keys", () => {
  it("sanitised file names never add a path segment or a dot-dot, whatever the client sends", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300, unit: "binary" }), fc.constantFrom(...ALLOWED_CONTENT_TYPES), (name, type) => {
      const sanitised = sanitizeFileName(name, type as AllowedContentType)
      expect(sanitised).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]*\.(png|jpe?g|webp|svg)$/)
      expect(sanitised).not.toContain("..")
      expect(sanitised.length).toBeLessThanOrEqual(100)
      const key = assetKey({
        ownerId: randomUUID() as UserId,
        designId: randomUUID() as DesignId,
        id: randomUUID() as AssetId,
        fileName: name,
        contentType: type as AllowedContentType
      })
      expect(key.split("/")).toHaveLength(6)
    }))
  })

  it("keeps a matching extension and adds the right one otherwise", () => {
    expect(sanitizeFileName("Photo.JPEG", "image/jpeg")).toBe("Photo.jpeg")
    expect(sanitizeFileName("photo.jpg", "image/jpeg")).toBe("photo.jpg")
    expect(sanitizeFileName("evil.html", "image/png")).toBe("evil.html.png")
    expect(sanitizeFileName("", "image/webp")).toBe("file.webp")
    expect(sanitizeFileName("my cat (1).png", "image/png")).toBe("my-cat-1.png")
  })

  it.effect("the memory layer refuses unsafe keys as a defect (a bug, never a path)", () =>
    Effect.gen(function*() {
      const storage = yield* Storage.Storage
      for (const key of ["../x", "users/../../x", "/abs", "a//b", "a/./b", ""]) {
        const exit = yield* Effect.exit(storage.head(key))
        expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause)).toBe(true)
      }
      expect(yield* storage.deletePrefix("users/")).toBe(0)
    }).pipe(Effect.provide(Storage.layerMemory)))
})

// ---------------------------------------------------------------------------------------------
// listAssets, deleteAsset, removeDeletedObjects
// ---------------------------------------------------------------------------------------------

/** Memory storage whose deletions fail while `down.value` is true (the other calls work). */
const flakyStorage = (down: { value: boolean }) =>
  Layer.effect(
    Storage.Storage,
    Effect.map(Effect.service(Storage.Storage), (storage) =>
      Storage.Storage.of({
        ...storage,
        deletePrefix: (prefix) =>
          down.value ? Effect.fail(new Storage.StorageUnavailable({ operation: "deletePrefix", cause: "down" })) : storage.deletePrefix(prefix)
      }))
  ).pipe(Layer.provideMerge(Storage.layerMemory))

const deletionLayer = (down = { value: false }) => Layer.merge(memoryLayer(flakyStorage(down)), Transactions.layerMemory)

describe("deleteAsset", () => {
  it.effect("removes the row and the stored object; a second deletion is AssetNotFound", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const asset = yield* completedAsset(actor)
      const objects = yield* Storage.MemoryObjects
      expect(yield* objects.keys).toContain(asset.key)
      yield* Assets.deleteAsset(actor, asset.designId, asset.id)
      expect(yield* objects.keys).not.toContain(asset.key)
      expect((yield* Assets.listAssets(actor, asset.designId, {})).data).toEqual([])
      const again = yield* Effect.flip(Assets.deleteAsset(actor, asset.designId, asset.id))
      expect(again._tag).toBe("AssetNotFound")
    }).pipe(Effect.provide(deletionLayer())))

  it.effect("is refused with the designs while a live design's layer shows it, any design of the owner", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const asset = yield* completedAsset(actor)
      const designs = yield* DesignsRepository.DesignsRepository
      const other = yield* designOf(actor)
      yield* designs.update(other.id, { ownerId: actor.userId, expectedVersion: 1 }, { document: { ...DOCUMENT, layers: [textLayer("t"), imageLayer("i", asset.id)] } }).pipe(Effect.orDie)
      const refused = yield* Effect.flip(Assets.deleteAsset(actor, asset.designId, asset.id))
      expect(refused).toMatchObject({ _tag: "AssetInUse", designIds: [other.id] })
      // Once no live design shows it (the other one is deleted), it goes.
      yield* designs.softDelete(other.id, actor.userId)
      yield* Assets.deleteAsset(actor, asset.designId, asset.id)
    }).pipe(Effect.provide(deletionLayer())))

  it.effect("someone else's upload, or one of another design, is AssetNotFound and stays", () =>
    Effect.gen(function*() {
      const owner = newActor()
      const asset = yield* completedAsset(owner)
      const intruder = yield* Effect.flip(Assets.deleteAsset(newActor(), asset.designId, asset.id))
      expect(intruder._tag).toBe("DesignNotFound")
      const elsewhere = yield* designOf(owner)
      expect((yield* Effect.flip(Assets.deleteAsset(owner, elsewhere.id, asset.id)))._tag).toBe("AssetNotFound")
      expect((yield* Assets.listAssets(owner, asset.designId, {})).data.map((a) => a.id)).toEqual([asset.id])
    }).pipe(Effect.provide(deletionLayer())))

  it.effect("a storage outage after the row went: still deleted, and the housekeeping removes the object later", () => {
    const down = { value: true }
    return Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 4, 10, 12))
      const actor = newActor()
      const asset = yield* completedAsset(actor)
      const objects = yield* Storage.MemoryObjects
      yield* Assets.deleteAsset(actor, asset.designId, asset.id)
      expect((yield* Assets.listAssets(actor, asset.designId, {})).data).toEqual([])
      expect(yield* objects.keys).toContain(asset.key)
      // Storage still down at the next sweep: it fails, the removal stays recorded.
      yield* TestClock.adjust(Duration.minutes(10))
      expect((yield* Effect.flip(Assets.removeDeletedObjects()))._tag).toBe("StorageUnavailable")
      down.value = false
      expect(yield* Assets.removeDeletedObjects()).toBe(1)
      expect(yield* objects.keys).not.toContain(asset.key)
      expect(yield* Assets.removeDeletedObjects()).toBe(0)
    }).pipe(Effect.provide(deletionLayer(down)))
  })
})

describe("listAssets", () => {
  it.effect("newest first, by keyset pages; a forged cursor is InvalidCursor", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 4, 10, 12))
      const actor = newActor()
      const design = yield* designOf(actor)
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) {
        ids.push((yield* Assets.requestUpload(actor, design.id, PNG)).asset.id)
        if (i % 2 === 0) yield* TestClock.adjust(Duration.seconds(1))
      }
      const seen: Array<string> = []
      let cursor: string | undefined
      do {
        const page = yield* Assets.listAssets(actor, design.id, { limit: 2, cursor })
        expect(page.data.length).toBeLessThanOrEqual(2)
        seen.push(...page.data.map((a) => a.id))
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined)
      expect(new Set(seen).size).toBe(5)
      expect(new Set(seen)).toEqual(new Set(ids))
      // Newer seconds first.
      expect(seen.slice(-1)[0]).toBe(ids[0])
      expect((yield* Effect.flip(Assets.listAssets(actor, design.id, { cursor: "eyJjIjoxfQ" })))._tag).toBe("InvalidCursor")
      expect((yield* Effect.flip(Assets.listAssets(newActor(), design.id, {})))._tag).toBe("DesignNotFound")
    }).pipe(Effect.provide(deletionLayer())))
})

describe("deleteAsset of a pending upload", () => {
  it.effect("an upload still PUT through its URL after the deletion is removed by the housekeeping once the URL expired", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 4, 10, 12))
      const actor = newActor()
      const design = yield* designOf(actor)
      const grant = yield* Assets.requestUpload(actor, design.id, PNG)
      yield* Assets.deleteAsset(actor, design.id, grant.asset.id)
      // The browser's PUT was in flight (or the URL is replayed): it lands after the deletion.
      yield* upload(grant.asset.key, PNG.byteSize, PNG.contentType)
      const objects = yield* Storage.MemoryObjects
      expect(yield* objects.keys).toContain(grant.asset.key)
      // Before the URL expired, the housekeeping leaves it (a PUT could still come).
      yield* TestClock.adjust(Duration.minutes(10))
      yield* Assets.removeDeletedObjects()
      // Past the URL's lifetime (15 minutes by default) and the removal grace: gone for good.
      yield* TestClock.adjust(Duration.minutes(15))
      yield* Assets.removeDeletedObjects()
      expect(yield* objects.keys).not.toContain(grant.asset.key)
      expect(yield* Assets.removeDeletedObjects()).toBe(0)
    }).pipe(Effect.provide(deletionLayer())))
})
