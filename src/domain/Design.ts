import { Schema } from "effect"
import type { DesignDocument } from "./DesignDocument.ts"
import { matching, trimmedInput, Uuid } from "./Primitives.ts"
import type { UserId } from "./User.ts"

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

export interface Design {
  readonly id: DesignId
  readonly ownerId: UserId
  readonly name: string
  readonly productType: string
  readonly status: DesignStatus
  readonly document: DesignDocument
  readonly version: number
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface Product {
  readonly id: string
  readonly name: string
  /** The printable area, in millimetres. */
  readonly printableWidthMm: number
  readonly printableHeightMm: number
}

export interface DesignChanges {
  readonly name?: string
  readonly document?: DesignDocument
  readonly status?: DesignStatus
}
