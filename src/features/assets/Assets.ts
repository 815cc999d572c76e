import { randomUUID } from "node:crypto"
import { Clock, Effect, Layer, Option } from "effect"
import { Storage, type StorageUnavailable } from "../../capabilities/storage/Storage.ts"
import { StorageConfig } from "../../config/StorageConfig.ts"
import {
  type AllowedContentType,
  type Asset,
  type AssetId,
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
import type { DesignId } from "../../domain/Design.ts"
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
  }, { perDesign: settings.uploadsPerDesign, pendingPerUser: settings.pendingUploadsPerUser })
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
  const completed = yield* (yield* AssetsRepository).markComplete(asset.id, yield* now)
  return Option.getOrElse(completed, () => ({ ...asset, status: "complete" as const }))
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
