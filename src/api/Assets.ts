import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AllowedContentType, AssetId, AssetStatus, ByteSize, FileName } from "../domain/Asset.ts"
import { DesignId } from "../domain/Design.ts"
import { AssetNotUploaded, AssetTooLarge } from "./AssetProblems.ts"
import { NotFound, ServiceUnavailable, ValidationFailed } from "./Problems.ts"
import { Authentication } from "./Security.ts"

export const AssetView = Schema.Struct({
  id: AssetId,
  designId: DesignId,
  fileName: Schema.String,
  contentType: AllowedContentType,
  byteSize: Schema.Int,
  status: AssetStatus,
  createdAt: Schema.String,
  completedAt: Schema.NullOr(Schema.String)
}).annotate({ identifier: "Asset" })

export const UploadTicket = Schema.Struct({
  assetId: AssetId,
  uploadUrl: Schema.String.annotate({ description: "PUT the file's bytes here, before expiresAt" }),
  method: Schema.Literal("PUT"),
  headers: Schema.Record(Schema.String, Schema.String).annotate({
    description: "Send these headers with the PUT; the body must be exactly byteSize bytes"
  }),
  expiresAt: Schema.String
}).annotate({ identifier: "UploadTicket" })

export const DownloadLink = Schema.Struct({
  url: Schema.String,
  expiresAt: Schema.String
}).annotate({ identifier: "DownloadLink" })

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
      error: [NotFound, ValidationFailed, AssetTooLarge, ServiceUnavailable]
    }),
    HttpApiEndpoint.post("complete", "/:id/assets/:assetId/complete", {
      params: assetParams,
      success: AssetView,
      error: [NotFound, AssetNotUploaded, ServiceUnavailable]
    }),
    HttpApiEndpoint.get("download", "/:id/assets/:assetId", {
      params: assetParams,
      success: DownloadLink,
      error: [NotFound, AssetNotUploaded, ServiceUnavailable]
    })
  )
  .middleware(Authentication)
  .prefix("/api/v1/designs")
  .annotateMerge(OpenApi.annotations({
    title: "Assets",
    description: "Images for a design's image layers: request an upload URL, PUT the file there, complete, download"
  }))
{}
