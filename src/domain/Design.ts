import { Schema } from "effect"
import type { DesignDocument } from "./DesignDocument.ts"
import type { UserId } from "./User.ts"

export const DesignId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("DesignId"))
export type DesignId = typeof DesignId.Type

export const DesignStatus = Schema.Literals(["draft", "ready", "archived"])
export type DesignStatus = typeof DesignStatus.Type

export const DesignName = Schema.Trim.pipe(
  Schema.decodeTo(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)))
)

export const ProductType = Schema.String.check(
  Schema.isPattern(/^[a-z0-9-]{1,40}$/, { message: "Expected a product type like t-shirt" })
)

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
