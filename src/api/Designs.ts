import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { DesignId, DesignName, DesignStatus, MAX_DESIGN_NAME, ProductType } from "../domain/Design.ts"
import { DesignDocument } from "../domain/DesignDocument.ts"
import { Int32, Int64, Timestamp } from "../domain/Primitives.ts"
import { Cursor, Limit, MAX_PAGE_SIZE, NextCursor } from "./Pagination.ts"
import { UserId } from "../domain/User.ts"
import { NotFound, QuotaExceeded, ServiceUnavailable, SubscriptionInactive, ValidationFailed, VersionConflict } from "./Problems.ts"
import { Authentication } from "./Security.ts"

export const DesignView = Schema.Struct({
  id: DesignId,
  ownerId: UserId,
  name: Schema.String.check(Schema.isMaxLength(MAX_DESIGN_NAME)),
  productType: ProductType,
  status: DesignStatus,
  document: DesignDocument,
  version: Int32.check(Schema.isGreaterThanOrEqualTo(1)),
  createdAt: Timestamp,
  updatedAt: Timestamp
}).annotate({ identifier: "Design" })

export const DesignPage = Schema.Struct({
  data: Schema.Array(DesignView).check(Schema.isMaxLength(MAX_PAGE_SIZE)),
  nextCursor: NextCursor
}).annotate({ identifier: "DesignPage" })

/** Any version number is well-formed; a stale one is a 409, not a 400. */
const Version = Int64.check(Schema.isGreaterThanOrEqualTo(1))

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
        "if-match": Schema.optional(
          Schema.String.check(Schema.isMaxLength(64)).annotate({ description: "The version edited, instead of the body field" })
        )
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
