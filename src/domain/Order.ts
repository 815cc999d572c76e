import { Schema, Struct } from "effect"
import { DesignId } from "./Design.ts"
import { int32Between, matching, Timestamp, Uuid } from "./Primitives.ts"
import { UserId } from "./User.ts"

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

/** An order of the store platform, written by the integration layer (by external id) and read by its user. */
export const Order = Schema.Struct({
  id: OrderId,
  externalId: ExternalOrderId,
  /** Null once the account was deleted: the order is kept for the records, detached. */
  userId: Schema.NullOr(UserId),
  designId: Schema.NullOr(DesignId),
  status: OrderStatus,
  quantity: int32Between(1, 10_000),
  totalCents: int32Between(0, 100_000_000),
  currency: Currency,
  createdAt: Timestamp,
  updatedAt: Timestamp
})
export type Order = typeof Order.Type

/** What the integration layer writes: the order without its ids and timestamps. */
export const OrderWrite = Order.mapFields((fields) => ({
  ...Struct.pick(fields, ["designId", "status", "quantity", "totalCents", "currency"]),
  userId: UserId
}))
export type OrderWrite = typeof OrderWrite.Type
