import { Schema, Struct } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Design, DesignId, DesignName, DesignStatus, ProductType } from "../domain/Design.ts"
import { DesignDocument } from "../domain/DesignDocument.ts"
import { Int64, text } from "../domain/Primitives.ts"
import { Cursor, Limit, MAX_PAGE_SIZE, NextCursor } from "./Pagination.ts"
import { InvalidCursor, NotFound, QuotaExceeded, ServiceUnavailable, SubscriptionInactive, ValidationFailed, VersionConflict } from "./Problems.ts"
import { Idempotent } from "./Idempotency.ts"
import { Authentication } from "./Security.ts"
import { declareETag, declareIfNoneMatch, NotModifiedResponse } from "./ConditionalRequests.ts"

/** A design as responses carry it: its document with the schema requests are checked by. */
export const DesignView = Design.mapFields(Struct.assign({ document: DesignDocument })).annotate({ identifier: "Design" })

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
    }).middleware(Idempotent).annotateMerge(OpenApi.annotations({
      transform: declareETag(["201"]),
      summary: "Create a design",
      description: "Charges the month's design quota (402 `quota_exceeded`; 402 `subscription_inactive` without an active subscription). The canvas must fit the product's printable area and image layers may only show completed uploads of the caller."
    })),
    HttpApiEndpoint.get("list", "/", {
      query: {
        limit: Schema.optional(Limit),
        cursor: Schema.optional(Cursor),
        productType: Schema.optional(ProductType),
        status: Schema.optional(DesignStatus)
      },
      success: DesignPage,
      error: [ValidationFailed, InvalidCursor]
    }).annotateMerge(OpenApi.annotations({
      summary: "List the caller's designs",
      description: "Newest first, optionally filtered by product type and status; keyset pagination with `cursor`, stable while designs are added. A cursor no page answered is 400 `invalid_cursor`."
    })),
    HttpApiEndpoint.get("get", "/:id", {
      params: { id: DesignId },
      success: DesignView,
      error: [NotFound, NotModifiedResponse]
    }).annotateMerge(OpenApi.annotations({
      transform: (operation) => declareIfNoneMatch(declareETag(["200", "304"])(operation)),
      summary: "Get a design",
      description: "Someone else's design answers 404, exactly like a missing one. Answers carry the version as `ETag`; with If-None-Match naming it (or `*`), 304 without a body."
    })),
    HttpApiEndpoint.patch("update", "/:id", {
      params: { id: DesignId },
      headers: {
        "if-match": Schema.optional(
          text(64).annotate({ description: "The ETag of the version edited (`\"v3\"`; `\"3\"` and `3` are accepted too), instead of the body field" })
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
    }).annotateMerge(OpenApi.annotations({
      transform: declareETag(["200"]),
      summary: "Update a design",
      description: "Send the version you edited (body `version`, or If-Match with the ETag you hold, e.g. `\"v3\"`). A stale version answers 409 `version_conflict` with `currentVersion`."
    })),
    HttpApiEndpoint.delete("delete", "/:id", { params: { id: DesignId }, success: HttpApiSchema.NoContent, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "Delete a design",
      description: "Soft delete: the design is gone from reads and lists. The quota it used is not given back."
    })),
    HttpApiEndpoint.post("duplicate", "/:id/duplicate", {
      params: { id: DesignId },
      success: DesignView.pipe(HttpApiSchema.status(201)),
      error: [NotFound, QuotaExceeded, SubscriptionInactive, ServiceUnavailable]
    }).middleware(Idempotent).annotateMerge(OpenApi.annotations({
      transform: declareETag(["201"]),
      summary: "Duplicate a design",
      description: "A draft copy named \"<name> (copy)\", charged to the month's quota like a new design."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1/designs")
  .annotateMerge(OpenApi.annotations({ title: "Designs", description: "The signed-in user's designs" }))
{}
