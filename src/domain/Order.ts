import { Schema } from "effect"
import type { DesignId } from "./Design.ts"
import { matching, Uuid } from "./Primitives.ts"
import type { UserId } from "./User.ts"

export const OrderId = Uuid.pipe(Schema.brand("OrderId"))
export type OrderId = typeof OrderId.Type

export const OrderStatus = Schema.Literals(["pending", "paid", "in_production", "shipped", "delivered", "canceled", "refunded"])
export type OrderStatus = typeof OrderStatus.Type

/** The store platform's order id, e.g. `shopify:1234`: the idempotency key of upserts. */
export const ExternalOrderId = matching(/^[A-Za-z0-9:._-]{1,128}$/u, 128, {
  message: "Expected 1 to 128 letters, digits, :, ., _ or -"
})

/** An ISO 4217 currency code. */
export const Currency = matching(/^[A-Z]{3}$/u, 3, { message: "Expected an ISO 4217 code like EUR" })

export interface Order {
  readonly id: OrderId
  readonly externalId: string
  readonly userId: UserId
  readonly designId: DesignId | null
  readonly status: OrderStatus
  readonly quantity: number
  readonly totalCents: number
  readonly currency: string
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface OrderWrite {
  readonly userId: UserId
  readonly designId: DesignId | null
  readonly status: OrderStatus
  readonly quantity: number
  readonly totalCents: number
  readonly currency: string
}
