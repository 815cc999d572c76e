import { Effect, Option, Schema } from "effect"
import { InvalidCursor, InvalidInput } from "../../domain/CommonErrors.ts"
import { OrderNotFound } from "../../domain/DesignErrors.ts"
import type { Order, OrderId, OrderWrite } from "../../domain/Order.ts"
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

const CursorJson = Schema.fromJsonString(Schema.Struct({ c: Schema.Number, i: Schema.String.check(Schema.isUUID()) }))

export const listOrders = Effect.fn("listOrders")(function*(actor: Actor, query: {
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}) {
  const limit = query.limit ?? 20
  const after = query.cursor === undefined ? undefined : yield* Schema.decodeUnknownEffect(CursorJson)(
    Buffer.from(query.cursor, "base64url").toString("utf8")
  ).pipe(
    Effect.map(({ c, i }): OrderCursor => ({ createdAt: new Date(c), id: i as OrderId })),
    Effect.mapError(() => new InvalidCursor())
  )
  const rows = yield* (yield* OrdersRepository).listForUser(actor.userId, limit + 1, after)
  const data = rows.slice(0, limit)
  const last = data[data.length - 1]
  return {
    data,
    nextCursor: rows.length > limit && last !== undefined
      ? Buffer.from(Schema.encodeSync(CursorJson)({ c: last.createdAt.getTime(), i: last.id })).toString("base64url")
      : null
  }
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
