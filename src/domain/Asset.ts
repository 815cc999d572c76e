import { Schema } from "effect"
import { DesignId } from "./Design.ts"
import type { DesignDocument } from "./DesignDocument.ts"
import { Int64, Timestamp, trimmedInput, Uuid } from "./Primitives.ts"
import { UserId } from "./User.ts"

export const AssetId = Uuid.pipe(Schema.brand("AssetId"))
export type AssetId = typeof AssetId.Type

export const ALLOWED_CONTENT_TYPES = ["image/png", "image/jpeg", "image/webp", "image/svg+xml"] as const
export const AllowedContentType = Schema.Literals(ALLOWED_CONTENT_TYPES).annotate({
  description: "PNG, JPEG, WebP or SVG"
})
export type AllowedContentType = typeof AllowedContentType.Type

/** `pending`: a URL was handed out; `complete`: the object was checked and may be used in documents. */
export const AssetStatus = Schema.Literals(["pending", "complete"])
export type AssetStatus = typeof AssetStatus.Type

/** The name the client gave the file; only a sanitised form of it ever reaches a storage key. */
export const MAX_FILE_NAME = 255

/** A file name as stored: what `FileName` decodes to. */
const StoredFileName = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(MAX_FILE_NAME))

export const FileName = trimmedInput(MAX_FILE_NAME).pipe(Schema.decodeTo(StoredFileName))

/** Declared before the upload; the configured maximum is checked by the use case. */
export const ByteSize = Int64.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * An uploaded file (an image a design's image layers show). The client uploads the bytes
 * straight to storage through a presigned URL; the API only records the asset, checks the
 * stored object on completion, and hands out short-lived download URLs.
 */
export const Asset = Schema.Struct({
  id: AssetId,
  ownerId: UserId,
  designId: DesignId,
  /** `users/{ownerId}/designs/{designId}/{assetId}/{sanitised file name}` */
  key: Schema.String,
  fileName: StoredFileName,
  contentType: AllowedContentType,
  byteSize: ByteSize,
  status: AssetStatus,
  createdAt: Timestamp,
  completedAt: Schema.NullOr(Timestamp)
})
export type Asset = typeof Asset.Type

const EXTENSIONS: Record<AllowedContentType, ReadonlyArray<string>> = {
  "image/png": [".png"],
  "image/jpeg": [".jpg", ".jpeg"],
  "image/webp": [".webp"],
  "image/svg+xml": [".svg"]
}

const MAX_KEY_FILE_NAME = 100

/**
 * A file name safe in a storage key and a URL: only `A-Za-z0-9._-`, no `..`, no leading dot
 * or dash, at most 100 characters, ending in an extension that matches the content type.
 * Nothing the client sends can add a path segment.
 */
export const sanitizeFileName = (fileName: string, contentType: AllowedContentType): string => {
  const extensions = EXTENSIONS[contentType]
  let name = fileName
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/\.{2,}/g, ".")
    .replace(/-{2,}/g, "-")
    .replace(/^[.-]+/, "")
    .replace(/[.-]+$/, "")
  const lower = name.toLowerCase()
  const extension = extensions.find((ext) => lower.endsWith(ext)) ?? extensions[0]!
  if (lower.endsWith(extension)) name = name.slice(0, name.length - extension.length).replace(/[.-]+$/, "")
  name = name.slice(0, MAX_KEY_FILE_NAME - extension.length).replace(/[.-]+$/, "")
  return `${name === "" ? "file" : name}${extension}`
}

/** Every object of a user lives under this prefix (the account cleanup deletes it whole). */
export const userPrefix = (userId: UserId): string => `users/${userId}/`

/** The one place storage keys are made: under the owner's and the design's prefix only. */
export const assetKey = (asset: {
  readonly ownerId: UserId
  readonly designId: DesignId
  readonly id: AssetId
  readonly fileName: string
  readonly contentType: AllowedContentType
}): string =>
  `${userPrefix(asset.ownerId)}designs/${asset.designId}/${asset.id}/${sanitizeFileName(asset.fileName, asset.contentType)}`

/** Media types compare without parameters and case-insensitively (`image/PNG; x=1` is `image/png`). */
export const sameMediaType = (a: string, b: string): boolean =>
  a.split(";")[0]!.trim().toLowerCase() === b.split(";")[0]!.trim().toLowerCase()

/** The image layers of a document, with their index and the asset each shows. */
export const imageReferences = (
  document: DesignDocument
): ReadonlyArray<{ readonly index: number; readonly assetId: string }> =>
  document.layers.flatMap((layer, index) => layer.type === "image" ? [{ index, assetId: layer.assetId }] : [])

/** Missing, someone else's, or of a design the caller cannot see: indistinguishable on purpose. */
export class AssetNotFound extends Schema.TaggedError<AssetNotFound>()("AssetNotFound", {}) {}

/** The object is not (or not correctly) in storage yet: nothing there, or not what was declared. */
export class AssetNotUploaded extends Schema.TaggedError<AssetNotUploaded>()("AssetNotUploaded", {
  reason: Schema.Literals(["missing", "size_mismatch", "type_mismatch", "pending"]),
  detail: Schema.String
}) {}

export class AssetTooLarge extends Schema.TaggedError<AssetTooLarge>()("AssetTooLarge", {
  maxBytes: Schema.Int,
  byteSize: Schema.Int
}) {}

/** Image layers whose `assetId` is not a completed asset of the design's owner, by path. */
export class InvalidAssetReference extends Schema.TaggedError<InvalidAssetReference>()("InvalidAssetReference", {
  /** e.g. `document.layers.3.assetId` */
  paths: Schema.Array(Schema.String)
}) {}

/**
 * An upload would exceed a limit: `design`, the uploads a design may have (UPLOADS_PER_DESIGN);
 * `pending`, the uploads its owner may have pending at once (PENDING_UPLOADS_PER_USER).
 */
export class UploadLimitReached extends Schema.TaggedError<UploadLimitReached>()("UploadLimitReached", {
  scope: Schema.Literals(["design", "pending"]),
  limit: Schema.Int
}) {}

/** Live designs whose current document shows the asset: it may not be deleted while they do. */
export class AssetInUse extends Schema.TaggedError<AssetInUse>()("AssetInUse", {
  designIds: Schema.Array(DesignId)
}) {}

/** A design write lost a race with the deletion of an upload one of its image layers shows. */
export class AssetReferenceLost extends Schema.TaggedError<AssetReferenceLost>()("AssetReferenceLost", {}) {}
