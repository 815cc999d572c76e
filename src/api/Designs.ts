import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { DesignId, DesignName, DesignStatus, ProductType } from "../domain/Design.ts"
import { DesignDocument } from "../domain/DesignDocument.ts"
import { UserId } from "../domain/User.ts"
import { NotFound, QuotaExceeded, ServiceUnavailable, SubscriptionInactive, ValidationFailed, VersionConflict } from "./Problems.ts"
import { Authentication } from "./Security.ts"

export const DesignView = Schema.Struct({
  id: DesignId,
  ownerId: UserId,
  name: Schema.String,
  productType: Schema.String,
  status: DesignStatus,
  document: DesignDocument,
  version: Schema.Int,
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotate({ identifier: "Design" })

export const DesignPage = Schema.Struct({
  data: Schema.Array(DesignView),
  nextCursor: Schema.NullOr(Schema.String)
}).annotate({ identifier: "DesignPage" })

const Version = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

export const Limit = Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 }))
export const Cursor = Schema.String.check(Schema.isMaxLength(512))

export class DesignsApi extends HttpApiGroup.make("designs")
  .add(
    HttpApiEndpoint.post("create", "/", {
      payload: Schema.Struct({
        name: DesignName,
        productType: ProductType,
        document: DesignDocument,
        status: Schema.optionalKey(DesignStatus)
      }),
      success: DesignView.pipe(HttpApiSchema.status(201)),
      error: [QuotaExceeded, SubscriptionInactive, ValidationFailed]
    }),
    HttpApiEndpoint.get("list", "/", {
      query: {
        limit: Schema.optional(Limit),
        cursor: Schema.optional(Cursor),
        productType: Schema.optional(ProductType),
        status: Schema.optional(DesignStatus)
      },
      success: DesignPage,
      error: ValidationFailed
    }),
    HttpApiEndpoint.get("get", "/:id", { params: { id: DesignId }, success: DesignView, error: NotFound }),
    HttpApiEndpoint.patch("update", "/:id", {
      params: { id: DesignId },
      headers: {
        "if-match": Schema.optional(Schema.String).annotate({ description: "The version edited, instead of the body field" })
      },
      payload: Schema.Struct({
        version: Schema.optionalKey(Version).annotate({ description: "The version the client edited" }),
        name: Schema.optionalKey(DesignName),
        document: Schema.optionalKey(DesignDocument),
        status: Schema.optionalKey(DesignStatus)
      }),
      success: DesignView,
      error: [NotFound, VersionConflict, ValidationFailed]
    }),
    HttpApiEndpoint.delete("delete", "/:id", { params: { id: DesignId }, success: HttpApiSchema.NoContent, error: NotFound }),
    HttpApiEndpoint.post("duplicate", "/:id/duplicate", {
      params: { id: DesignId },
      success: DesignView.pipe(HttpApiSchema.status(201)),
      error: [NotFound, QuotaExceeded, SubscriptionInactive, ServiceUnavailable]
    })
  )
  .middleware(Authentication)
  .prefix("/api/v1/designs")
  .annotateMerge(OpenApi.annotations({ title: "Designs", description: "The signed-in user's designs" }))
{}
