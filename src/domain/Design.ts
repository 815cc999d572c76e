import { flow, Schema, Struct } from "effect"
import type { DesignDocument } from "./DesignDocument.ts"
import { Int32, matching, Timestamp, trimmedInput, Uuid } from "./Primitives.ts"
import { UserId } from "./User.ts"

export const DesignId = Uuid.pipe(Schema.brand("DesignId"))
export type DesignId = typeof DesignId.Type

export const DesignStatus = Schema.Literals(["draft", "ready", "archived"])
export type DesignStatus = typeof DesignStatus.Type

export const MAX_DESIGN_NAME = 200

/** 1 to 200 characters once trimmed; what arrives may be no longer than that either. */
export const DesignName = trimmedInput(MAX_DESIGN_NAME).pipe(
  Schema.decodeTo(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(MAX_DESIGN_NAME)))
)

export const ProductType = matching(/^[a-z0-9-]{1,40}$/u, 40, { message: "Expected a product type like t-shirt" })

/**
 * A document that was checked by `DesignDocument` on its way in (a request body), read back
 * from the database or the cache: taken as it is, not parsed again. Parsing its layers on every
 * read would cost more than the rest of the read; the API's view of a design swaps
 * `DesignDocument` back in, for the OpenAPI document and for clients.
 */
export const StoredDocument = Schema.declare(
  (input): input is DesignDocument => typeof input === "object" && input !== null,
  { expected: "a design document", toCodecJson: () => undefined }
)

/** A design the server holds: decoded from a row or a cache entry, its document as stored. */
export const Design = Schema.Struct({
  id: DesignId,
  ownerId: UserId,
  name: Schema.String.check(Schema.isMaxLength(MAX_DESIGN_NAME)),
  productType: ProductType,
  status: DesignStatus,
  document: StoredDocument,
  version: Int32.check(Schema.isGreaterThanOrEqualTo(1)),
  createdAt: Timestamp,
  updatedAt: Timestamp
}).annotate({ identifier: "Design" })
export type Design = typeof Design.Type

/** What an update may change: any of the name, the document and the status. */
export const DesignChanges = Design.mapFields(flow(Struct.pick(["name", "document", "status"]), Struct.map(Schema.optionalKey)))
export type DesignChanges = typeof DesignChanges.Type

export const Product = Schema.Struct({
  id: ProductType,
  name: Schema.String,
  /** The printable area, in millimetres. */
  printableWidthMm: Schema.Finite.check(Schema.isGreaterThan(0)),
  printableHeightMm: Schema.Finite.check(Schema.isGreaterThan(0))
}).annotate({ identifier: "Product" })
export type Product = typeof Product.Type
