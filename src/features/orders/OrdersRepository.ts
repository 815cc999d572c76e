import { randomUUID } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, Ref, Schema, Struct } from "effect"
import { SqlClient } from "effect/sql"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { Order, OrderId, type OrderWrite } from "../../domain/Order.ts"
import { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

/** Where a page ends: the last order's creation time and id (orders are listed newest first). */
export const OrderCursor = Order.mapFields(Struct.pick(["createdAt", "id"]))
export type OrderCursor = typeof OrderCursor.Type

export class OrdersRepository extends Context.Service<OrdersRepository, {
  /**
   * Inserts or updates by external id in one statement, so retries and duplicate deliveries of
   * the same order converge on one row. `None` when the user or design does not exist.
   */
  readonly upsert: (externalId: string, order: OrderWrite) => Effect.Effect<Option.Option<{ readonly order: Order; readonly created: boolean }>, DatabaseUnavailable>
  readonly findById: (id: OrderId) => Effect.Effect<Option.Option<Order>, DatabaseUnavailable>
  readonly listForUser: (userId: UserId, limit: number, after?: OrderCursor) => Effect.Effect<ReadonlyArray<Order>, DatabaseUnavailable>
}>()("customify/features/orders/OrdersRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/** An upserted row says whether it was inserted (`xmax = 0`) or updated. */
const UpsertedOrder = Order.mapFields(Struct.assign({ created: Schema.Boolean }))

export const layerSql = Layer.effect(OrdersRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const columns = sql`id, external_id, user_id, design_id, status, quantity, total_cents, currency, created_at, updated_at`
  const upsert = StoredRows.findOneOption({
    Request: Order,
    Result: UpsertedOrder,
    execute: (order) =>
      sql`
        INSERT INTO orders ${sql.insert(order)}
        ON CONFLICT (external_id) DO UPDATE SET
          -- A detached order (its account deleted) stays detached, whatever user it names (a
          -- deleted account's financial record is never listed to anyone else); it still takes
          -- the update, also naming a design that went with the account.
          user_id = CASE WHEN orders.user_id IS NULL THEN NULL ELSE EXCLUDED.user_id END,
          design_id = CASE
            WHEN orders.user_id IS NULL AND NOT EXISTS (SELECT 1 FROM designs WHERE id = EXCLUDED.design_id) THEN orders.design_id
            ELSE EXCLUDED.design_id
          END, status = EXCLUDED.status,
          quantity = EXCLUDED.quantity, total_cents = EXCLUDED.total_cents, currency = EXCLUDED.currency,
          updated_at = EXCLUDED.updated_at
        RETURNING ${columns}, (xmax = 0) AS created`
  })
  const findById = StoredRows.findOneOption({
    Request: OrderId,
    Result: Order,
    execute: (id) => sql`SELECT ${columns} FROM orders WHERE id = ${id}`
  })
  const listForUser = StoredRows.findAll({
    Request: Schema.Struct({ userId: UserId, limit: Schema.Int, after: Schema.optionalKey(OrderCursor) }),
    Result: Order,
    execute: ({ after, limit, userId }) =>
      sql`
        SELECT ${columns} FROM orders
        WHERE user_id = ${userId} ${after === undefined ? sql`` : sql`AND (created_at, id) < (${after.createdAt}, ${after.id})`}
        ORDER BY created_at DESC, id DESC LIMIT ${limit}`
  })
  return OrdersRepository.of({
    upsert: (externalId, order) =>
      Effect.gen(function*() {
        const at = yield* now
        const row = yield* upsert({ id: randomUUID() as OrderId, externalId, ...order, createdAt: at, updatedAt: at })
        return Option.map(row, ({ created, ...stored }) => ({ order: stored, created }))
      }).pipe(
        // A user or design that does not exist is the caller's mistake, not ours.
        Effect.catchIf(
          (error) => error._tag === "SqlError" && error.reason._tag === "ConstraintError",
          () => Effect.succeed(Option.none())
        ),
        orUnavailable
      ),
    findById: (id) => findById(id).pipe(orUnavailable),
    listForUser: (userId, limit, after) =>
      listForUser({ userId, limit, ...(after === undefined ? {} : { after }) }).pipe(orUnavailable)
  })
}))

export const layerMemory = Layer.effect(OrdersRepository, Effect.gen(function*() {
  const orders = yield* Ref.make(new Map<string, Order>())
  return OrdersRepository.of({
    upsert: (externalId, write) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(orders)
        const existing = all.get(externalId)
        const order: Order = existing === undefined
          ? { id: randomUUID() as OrderId, externalId, ...write, createdAt: at, updatedAt: at }
          : { ...existing, ...write, updatedAt: at }
        all.set(externalId, order)
        return Option.some({ order, created: existing === undefined })
      }),
    findById: (id) => Effect.map(Ref.get(orders), (all) => Option.fromNullishOr([...all.values()].find((o) => o.id === id))),
    listForUser: (userId, limit, after) =>
      Effect.map(Ref.get(orders), (all) =>
        [...all.values()]
          .filter((o) => o.userId === userId)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
          .filter((o) =>
            after === undefined || o.createdAt.getTime() < after.createdAt.getTime() ||
            (o.createdAt.getTime() === after.createdAt.getTime() && o.id < after.id)
          )
          .slice(0, limit))
  })
}))
