import { Schema, Struct } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AllowedContentType, Asset, AssetId, ByteSize, FileName } from "../domain/Asset.ts"
import { DesignId } from "../domain/Design.ts"
import { matching, Timestamp } from "../domain/Primitives.ts"
import { AssetInUse, AssetNotUploaded, AssetTooLarge, UploadLimitReached } from "./AssetProblems.ts"
import { Idempotent } from "./Idempotency.ts"
import { pageOf, pageQuery } from "./Pagination.ts"
import { InvalidCursor, NotFound, ServiceUnavailable, ValidationFailed } from "./Problems.ts"
import { Authentication } from "./Security.ts"

/** The asset without what stays on the server: its owner and its storage key. */
export const AssetView = Asset.mapFields(Struct.omit(["ownerId", "key"])).annotate({ identifier: "Asset" })

/**
 * A presigned URL (S3) or a signed URL of this API (local store). 8 KiB is what this API, S3
 * and common proxies accept as a request URL, so a longer one could not be used anyway.
 */
const TransferUrl = Schema.String.annotate({ format: "uri" }).check(Schema.isMaxLength(8192))

export const UploadTicket = Schema.Struct({
  assetId: AssetId,
  uploadUrl: TransferUrl.annotate({ description: "PUT the file's bytes here, before expiresAt" }),
  method: Schema.Literal("PUT"),
  headers: Schema.Record(
    matching(/^[A-Za-z0-9-]{1,64}$/u, 64),
    Schema.String.check(Schema.isMaxLength(256))
  ).check(Schema.isMaxProperties(8)).annotate({
    description: "Send these headers with the PUT (today Content-Type); the body must be exactly byteSize bytes"
  }),
  expiresAt: Timestamp
}).annotate({ identifier: "UploadTicket" })

export const DownloadLink = Schema.Struct({
  url: TransferUrl,
  expiresAt: Timestamp
}).annotate({ identifier: "DownloadLink" })

export const AssetPage = pageOf(AssetView, "AssetPage")

const assetParams = { id: DesignId, assetId: AssetId }

export class AssetsApi extends HttpApiGroup.make("assets")
  .add(
    HttpApiEndpoint.post("requestUpload", "/:id/assets", {
      params: { id: DesignId },
      payload: Schema.Struct({
        fileName: FileName,
        contentType: AllowedContentType,
        byteSize: ByteSize.annotate({ description: "The exact size of the file, in bytes" })
      }),
      success: UploadTicket.pipe(HttpApiSchema.status(201)),
      error: [NotFound, ValidationFailed, AssetTooLarge, UploadLimitReached, ServiceUnavailable]
    }).middleware(Idempotent).annotateMerge(OpenApi.annotations({
      summary: "Request an upload URL for an image",
      description: "PNG, JPEG, WebP or SVG of at most UPLOAD_MAX_BYTES (413 `asset_too_large`). PUT exactly `byteSize` bytes to `uploadUrl` with `headers` before `expiresAt`, then complete the upload. " +
        "A design has at most UPLOADS_PER_DESIGN uploads (409 `too_many_assets`) and a user at most PENDING_UPLOADS_PER_USER pending ones (409 `too_many_pending_uploads`), each with `limit`; an upload not completed is removed with its file an hour after its URL expired."
    })),
    HttpApiEndpoint.post("complete", "/:id/assets/:assetId/complete", {
      params: assetParams,
      success: AssetView,
      error: [NotFound, AssetNotUploaded, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Complete an upload",
      description: "Checks that the stored file has the declared size and type (409 `asset_not_uploaded` otherwise). A completed asset may be shown by the design's image layers. 404 once an expired pending upload was removed."
    })),
    HttpApiEndpoint.get("download", "/:id/assets/:assetId", {
      params: assetParams,
      success: DownloadLink,
      error: [NotFound, AssetNotUploaded, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Get a download URL for an image",
      description: "A short-lived URL (DOWNLOAD_URL_TTL) for a completed upload."
    })),
    HttpApiEndpoint.get("list", "/:id/assets", {
      params: { id: DesignId },
      query: pageQuery,
      success: AssetPage,
      error: [NotFound, ValidationFailed, InvalidCursor, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "List a design's uploads",
      description: "Pending and completed uploads of the design, newest first; keyset pagination with `cursor` (a cursor no page answered is 400 `invalid_cursor`). Someone else's design answers 404."
    })),
    HttpApiEndpoint.delete("delete", "/:id/assets/:assetId", {
      params: assetParams,
      success: HttpApiSchema.NoContent,
      error: [NotFound, AssetInUse, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Delete an upload",
      description: "Removes the upload and its stored file. Refused with 409 `asset_in_use` (listing `designIds`) while an image layer of a live design's current document shows it. " +
        "The file is removed from storage after the upload is gone from the API; if storage is unreachable then, the removal is retried in the background. Of two deletions at once, one answers 204 and the other 404."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1/designs")
  .annotateMerge(OpenApi.annotations({
    title: "Assets",
    description: "Images for a design's image layers: request an upload URL, PUT the file there, complete, download"
  }))
{}
