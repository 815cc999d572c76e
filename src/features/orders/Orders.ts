import { Effect, Option } from "effect"
import { InvalidInput } from "../../domain/CommonErrors.ts"
import { OrderNotFound } from "../../domain/DesignErrors.ts"
import { type Order, OrderId, type OrderWrite } from "../../domain/Order.ts"
import { makeKeysetCursor } from "../../domain/Pagination.ts"
import { type Actor, authorize } from "../../domain/Policy.ts"
import { type OrderCursor, OrdersRepository } from "./OrdersRepository.ts"

export const getOrder = Effect.fn("getOrder")(function*(actor: Actor, id: OrderId) {
  const order = yield* Effect.flatMap(
    (yield* OrdersRepository).findById(id),
    Option.match({ onNone: () => Effect.fail(new OrderNotFound()), onSome: Effect.succeed })
  )
  // A detached order (its account deleted) belongs to nobody.
  if (order.userId === null) return yield* new OrderNotFound()
  yield* authorize(actor, { kind: "owned", ownerId: order.userId }, "read", () => new OrderNotFound())
  return order
})

/** Opaque to clients: the last order of a page, by creation time and id (anything else is `InvalidCursor`). */
const Cursor = makeKeysetCursor(OrderId)

export const listOrders = Effect.fn("listOrders")(function*(actor: Actor, query: {
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}) {
  const limit = query.limit ?? 20
  const after: OrderCursor | undefined = query.cursor === undefined ? undefined : yield* Cursor.decode(query.cursor)
  const rows = yield* (yield* OrdersRepository).listForUser(actor.userId, limit + 1, after)
  const data = rows.slice(0, limit)
  const last = data[data.length - 1]
  return { data, nextCursor: rows.length > limit && last !== undefined ? Cursor.encode(last) : null }
})

/** For the integration layer: idempotent by external id. */
export const upsertOrder = Effect.fn("upsertOrder")(function*(externalId: string, order: OrderWrite) {
  const result = yield* (yield* OrdersRepository).upsert(externalId, order)
  return yield* Option.match(result, {
    onNone: () =>
      Effect.fail(new InvalidInput({ errors: [{ path: "userId", message: "No such user or design" }] })),
    onSome: (written): Effect.Effect<{ readonly order: Order; readonly created: boolean }> => Effect.succeed(written)
  })
})
