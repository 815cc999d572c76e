import { randomUUID } from "node:crypto"
import { Clock, Duration, Effect, Layer, Option } from "effect"
import { Transactions } from "../../capabilities/database/Transactions.ts"
import { Storage, type StorageUnavailable } from "../../capabilities/storage/Storage.ts"
import { StorageConfig } from "../../config/StorageConfig.ts"
import {
  type AllowedContentType,
  type Asset,
  AssetId,
  AssetInUse,
  assetKey,
  AssetNotFound,
  AssetNotUploaded,
  AssetTooLarge,
  imageReferences,
  InvalidAssetReference,
  sameMediaType,
  UploadLimitReached,
  userPrefix
} from "../../domain/Asset.ts"
import type { InvalidCursor } from "../../domain/CommonErrors.ts"
import type { DesignId } from "../../domain/Design.ts"
import { DEFAULT_PAGE_SIZE, keysetPage, makeKeysetCursor } from "../../domain/Pagination.ts"
import type { DesignDocument } from "../../domain/DesignDocument.ts"
import { DesignNotFound } from "../../domain/DesignErrors.ts"
import { type Actor, authorize } from "../../domain/Policy.ts"
import type { UserId } from "../../domain/User.ts"
import { DesignsRepository } from "../designs/DesignsRepository.ts"
import { ImageReferences } from "../designs/ImageReferences.ts"
import { AssetsRepository } from "./AssetsRepository.ts"
import { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

export interface UploadGrant {
  readonly asset: Asset
  readonly url: string
  readonly method: "PUT"
  readonly headers: Record<string, string>
  readonly expiresAt: Date
}

export interface DownloadGrant {
  readonly url: string
  readonly expiresAt: Date
}

/** A live design the actor may act on; anyone else's is `DesignNotFound`, exactly like a missing one. */
const ownedDesign = Effect.fnUntraced(function*(actor: Actor, designId: DesignId, action: "read" | "write") {
  const design = yield* Effect.flatMap(
    (yield* DesignsRepository).findLive(designId),
    Option.match({ onNone: () => Effect.fail(new DesignNotFound()), onSome: Effect.succeed })
  )
  yield* authorize(actor, { kind: "owned", ownerId: design.ownerId }, action, () => new DesignNotFound())
  return design
})

const assetOf = Effect.fnUntraced(function*(designId: DesignId, assetId: AssetId) {
  return yield* Effect.flatMap(
    (yield* AssetsRepository).find(designId, assetId),
    Option.match({ onNone: () => Effect.fail(new AssetNotFound()), onSome: Effect.succeed })
  )
})

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/**
 * Records a pending asset under the design and hands out a presigned PUT for exactly the
 * declared size and type. Nothing is recorded when storage cannot sign. A design has at most
 * UPLOADS_PER_DESIGN uploads and its owner at most PENDING_UPLOADS_PER_USER pending ones, both
 * counted atomically with the insert (`UploadLimitReached`; the URL signed is then never given out).
 */
export const requestUpload = Effect.fn("requestUpload")(function*(
  actor: Actor,
  designId: DesignId,
  input: { readonly fileName: string; readonly contentType: AllowedContentType; readonly byteSize: number }
): Effect.fn.Return<
  UploadGrant,
  DesignNotFound | AssetTooLarge | UploadLimitReached | StorageUnavailable | DatabaseUnavailable,
  DesignsRepository | AssetsRepository | Storage | StorageConfig
> {
  const design = yield* ownedDesign(actor, designId, "write")
  const settings = yield* StorageConfig
  if (input.byteSize > settings.uploadMaxBytes) {
    return yield* new AssetTooLarge({ maxBytes: settings.uploadMaxBytes, byteSize: input.byteSize })
  }
  const id = randomUUID() as AssetId
  const key = assetKey({ ownerId: design.ownerId, designId: design.id, id, ...input })
  const upload = yield* (yield* Storage).presignUpload({
    key,
    contentType: input.contentType,
    byteSize: input.byteSize,
    expiresIn: settings.uploadUrlTtl
  })
  const asset = yield* (yield* AssetsRepository).insert({
    id,
    ownerId: design.ownerId,
    designId: design.id,
    key,
    fileName: input.fileName,
    contentType: input.contentType,
    byteSize: input.byteSize,
    createdAt: yield* now
  }, { perDesign: settings.uploadsPerDesign, pendingPerUser: settings.pendingUploadsPerUser }).pipe(
    // The account, and the design with it, was deleted while the request waited.
    Effect.catchTag("SessionRevoked", () => Effect.fail(new DesignNotFound()))
  )
  return { asset, ...upload }
})

/**
 * Checks that the object is really in storage with the declared size and type, then marks the
 * asset complete: only then may image layers use it. Completing twice is harmless.
 */
export const completeUpload = Effect.fn("completeUpload")(function*(
  actor: Actor,
  designId: DesignId,
  assetId: AssetId
): Effect.fn.Return<
  Asset,
  DesignNotFound | AssetNotFound | AssetNotUploaded | StorageUnavailable | DatabaseUnavailable,
  DesignsRepository | AssetsRepository | Storage
> {
  yield* ownedDesign(actor, designId, "write")
  const asset = yield* assetOf(designId, assetId)
  if (asset.status === "complete") return asset
  const stored = yield* (yield* Storage).head(asset.key)
  if (Option.isNone(stored)) {
    return yield* new AssetNotUploaded({ reason: "missing", detail: "Nothing has been uploaded for this asset yet" })
  }
  if (stored.value.byteSize !== asset.byteSize) {
    return yield* new AssetNotUploaded({
      reason: "size_mismatch",
      detail: `The upload is ${stored.value.byteSize} bytes; ${asset.byteSize} were declared`
    })
  }
  if (!sameMediaType(stored.value.contentType, asset.contentType)) {
    return yield* new AssetNotUploaded({
      reason: "type_mismatch",
      detail: `The upload is ${stored.value.contentType || "of no type"}; ${asset.contentType} was declared`
    })
  }
  // None: the row went meanwhile (its pending upload expired and was removed with its object).
  return yield* Effect.flatMap(
    (yield* AssetsRepository).markComplete(asset.id, yield* now),
    Option.match({ onNone: () => Effect.fail(new AssetNotFound()), onSome: Effect.succeed })
  )
})

/** A short-lived URL to the bytes of a completed asset. */
export const getDownload = Effect.fn("getDownload")(function*(
  actor: Actor,
  designId: DesignId,
  assetId: AssetId
): Effect.fn.Return<
  DownloadGrant,
  DesignNotFound | AssetNotFound | AssetNotUploaded | StorageUnavailable | DatabaseUnavailable,
  DesignsRepository | AssetsRepository | Storage | StorageConfig
> {
  yield* ownedDesign(actor, designId, "read")
  const asset = yield* assetOf(designId, assetId)
  if (asset.status !== "complete") {
    return yield* new AssetNotUploaded({ reason: "pending", detail: "Complete the upload before downloading it" })
  }
  const { downloadUrlTtl } = yield* StorageConfig
  return yield* (yield* Storage).presignDownload(asset.key, downloadUrlTtl)
})

/** Opaque to clients: the last upload of a page, by creation time and id. */
const AssetCursor = makeKeysetCursor(AssetId)

/** The design's uploads (pending and completed), newest first, by keyset. */
export const listAssets = Effect.fn("listAssets")(function*(actor: Actor, designId: DesignId, query: {
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}): Effect.fn.Return<
  { readonly data: ReadonlyArray<Asset>; readonly nextCursor: string | null },
  DesignNotFound | InvalidCursor | DatabaseUnavailable,
  DesignsRepository | AssetsRepository
> {
  yield* ownedDesign(actor, designId, "read")
  const limit = query.limit ?? DEFAULT_PAGE_SIZE
  const after = query.cursor === undefined ? undefined : yield* AssetCursor.decode(query.cursor)
  const rows = yield* (yield* AssetsRepository).listForDesign({ designId, limit: limit + 1, after })
  return keysetPage(rows, limit, AssetCursor.encode)
})

/** The most designs an `AssetInUse` names. */
const MAX_IN_USE_DESIGNS = 20

/**
 * Removes a deleted asset's object folder, best effort: the row is already gone and the folder
 * recorded for removal, so a failure (storage down) only leaves it to `removeDeletedObjects`.
 */
const removeObjectFolder = (prefix: string) =>
  Effect.gen(function*() {
    yield* (yield* Storage).deletePrefix(prefix)
    yield* (yield* AssetsRepository).removalDone(prefix)
  }).pipe(Effect.catch((error) => Effect.logWarning(`assets: object removal of ${prefix} left to the housekeeping`, error)))

/**
 * Deletes an upload of the design and its stored object, unless an image layer of a live
 * design's current document shows it (`AssetInUse`). In one transaction: the asset's row is
 * locked, the documents read, the row deleted and its object recorded for removal. A design
 * write showing the asset locks it too (migration 0011's trigger), so of the two, the later
 * one sees the other: the deletion finds the layer (409), or the write finds no asset (400).
 * The object goes after the commit (a rollback cannot lose it); if storage fails then, the
 * row is gone anyway and the recorded removal is retried by the housekeeping.
 */
export const deleteAsset = Effect.fn("deleteAsset")(function*(
  actor: Actor,
  designId: DesignId,
  assetId: AssetId
): Effect.fn.Return<
  void,
  DesignNotFound | AssetNotFound | AssetInUse | DatabaseUnavailable,
  DesignsRepository | AssetsRepository | Storage | StorageConfig | Transactions
> {
  const design = yield* ownedDesign(actor, designId, "write")
  const assets = yield* AssetsRepository
  const designs = yield* DesignsRepository
  const { uploadUrlTtl } = yield* StorageConfig
  const { folder, pending } = yield* (yield* Transactions).atomically(Effect.gen(function*() {
    const asset = yield* Effect.flatMap(
      assets.lockForDeletion(designId, assetId),
      Option.match({ onNone: () => Effect.fail(new AssetNotFound()), onSome: Effect.succeed })
    )
    const showing = yield* designs.showingAsset(design.ownerId, asset.id, MAX_IN_USE_DESIGNS)
    if (showing.length > 0) return yield* new AssetInUse({ designIds: showing })
    const folder = assetFolder(asset.key)
    const at = yield* now
    // A pending upload's URL still takes a PUT until it expires (a browser's upload in flight):
    // its removal stays recorded, due only once the URL expired, so a late object goes too.
    const pending = asset.status === "pending"
    const due = pending ? new Date(Math.max(at.getTime(), asset.createdAt.getTime() + Duration.toMillis(uploadUrlTtl))) : at
    if (!(yield* assets.delete(asset.id, { prefix: folder, at: due }))) return yield* new AssetNotFound()
    return { folder, pending }
  }))
  if (pending) yield* (yield* Storage).deletePrefix(folder).pipe(Effect.ignore)
  else yield* removeObjectFolder(folder)
})

/** Object removals handled per batch by `removeDeletedObjects`. */
const REMOVAL_BATCH = 100
/** A removal is left this long to the deletion that recorded it before the housekeeping retries it. */
const REMOVAL_GRACE = Duration.minutes(5)

/**
 * Housekeeping: the objects of deleted assets whose removal failed (storage was down) are
 * removed now; each stays recorded until storage confirms. Idempotent, run by every worker.
 */
export const removeDeletedObjects = Effect.fn("removeDeletedObjects")(function*(): Effect.fn.Return<
  number,
  StorageUnavailable | DatabaseUnavailable,
  AssetsRepository | Storage
> {
  const repository = yield* AssetsRepository
  const storage = yield* Storage
  const before = new Date((yield* Clock.currentTimeMillis) - Duration.toMillis(REMOVAL_GRACE))
  let removed = 0
  while (true) {
    const due = yield* repository.removalsDue(before, REMOVAL_BATCH)
    for (const prefix of due) {
      yield* storage.deletePrefix(prefix)
      yield* repository.removalDone(prefix)
      removed++
    }
    if (due.length < REMOVAL_BATCH) break
  }
  if (removed > 0) yield* Effect.logInfo(`assets: removed ${removed} objects of deleted uploads`)
  return removed
})

/**
 * Every image layer must show a completed asset of the design's owner: the others are listed
 * by path (`document.layers.<i>.assetId`). For createDesign and updateDesign.
 */
export const checkImageReferences = Effect.fn("checkImageReferences")(function*(
  ownerId: UserId,
  document: DesignDocument
): Effect.fn.Return<void, InvalidAssetReference | DatabaseUnavailable, AssetsRepository> {
  const references = imageReferences(document)
  if (references.length === 0) return
  const completed = yield* (yield* AssetsRepository).completedOf(
    ownerId,
    references.map((reference) => reference.assetId.toLowerCase() as AssetId)
  )
  const paths = references
    .filter((reference) => !completed.has(reference.assetId.toLowerCase() as AssetId))
    .map((reference) => `document.layers.${reference.index}.assetId`)
  if (paths.length > 0) return yield* new InvalidAssetReference({ paths })
})

/** Implements the designs feature's image-reference check. */
export const layerImageReferences = Layer.effect(
  ImageReferences,
  Effect.map(Effect.service(AssetsRepository), (repository) =>
    ImageReferences.of({
      check: (ownerId, document) => checkImageReferences(ownerId, document).pipe(Effect.provideService(AssetsRepository, repository))
    }))
)

/** Deletes every stored object of a user (the account.cleanup job); returns how many. */
export const deleteUserObjects = Effect.fn("deleteUserObjects")(function*(
  userId: UserId
): Effect.fn.Return<number, StorageUnavailable, Storage> {
  return yield* (yield* Storage).deletePrefix(userPrefix(userId))
})

/** How long a pending upload outlives its upload URL before it is removed with its object. */
export const PENDING_UPLOAD_GRACE = Duration.hours(1)

/** Pending uploads handled per batch by `removeExpiredUploads`. */
const SWEEP_BATCH = 100

/** The folder of one asset's object: `users/{ownerId}/designs/{designId}/{assetId}/`. */
const assetFolder = (key: string) => key.slice(0, key.lastIndexOf("/") + 1)

/**
 * Housekeeping: pending uploads whose URL expired more than PENDING_UPLOAD_GRACE ago go, with
 * whatever was stored for them. Each is deleted in a transaction that deletes its object too:
 * the row is locked from the delete to the commit, so a completion racing it waits and then
 * finds nothing (404), and an object that cannot be deleted (storage down) keeps its row for
 * the next round. Deleting an object that is not there is fine: idempotent, run by every worker.
 * Completed uploads and pending ones still within their URL's life and the grace stay.
 */
export const removeExpiredUploads = Effect.fn("removeExpiredUploads")(function*(): Effect.fn.Return<
  number,
  StorageUnavailable | DatabaseUnavailable,
  AssetsRepository | Storage | StorageConfig | Transactions
> {
  const { uploadUrlTtl } = yield* StorageConfig
  const repository = yield* AssetsRepository
  const storage = yield* Storage
  const { atomically } = yield* Transactions
  const before = new Date((yield* Clock.currentTimeMillis) - Duration.toMillis(uploadUrlTtl) - Duration.toMillis(PENDING_UPLOAD_GRACE))
  let removed = 0
  while (true) {
    const batch = yield* repository.pendingBefore(before, SWEEP_BATCH)
    for (const asset of batch) {
      const deleted = yield* atomically(Effect.tap(
        repository.deletePending(asset.id, before),
        Option.match({ onNone: () => Effect.void, onSome: (gone) => storage.deletePrefix(assetFolder(gone.key)) })
      ))
      if (Option.isSome(deleted)) removed++
    }
    if (batch.length < SWEEP_BATCH) break
  }
  if (removed > 0) yield* Effect.logInfo(`assets: removed ${removed} expired pending uploads`)
  return removed
})
