import { Clock, Context, Data, Duration, Effect, Layer, Option, Ref } from "effect"
import { SqlClient } from "effect/sql"
import { joinOrBegin } from "../../capabilities/database/Transactions.ts"
import type { Design, DesignChanges, DesignId, DesignStatus, Product } from "../../domain/Design.ts"
import type { DesignDocument } from "../../domain/DesignDocument.ts"
import type { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

export interface NewDesign {
  readonly id: DesignId
  readonly ownerId: UserId
  readonly name: string
  readonly productType: string
  readonly status: DesignStatus
  readonly document: DesignDocument
}

/** The month's counter and its ceiling; `limit: null` is unlimited. */
export interface QuotaCharge {
  readonly periodStart: Date
  readonly limit: number | null
}

/** The month's quota is spent: nothing was inserted. */
export class QuotaSpent extends Data.TaggedError("QuotaSpent")<{ readonly used: number }> {}

/** Keyset position: designs strictly older than this one. */
export interface DesignCursor {
  readonly createdAt: Date
  readonly id: DesignId
}

export interface DesignQuery {
  readonly ownerId: UserId
  readonly limit: number
  readonly after?: DesignCursor | undefined
  readonly productType?: string | undefined
  readonly status?: DesignStatus | undefined
}

export class DesignsRepository extends Context.Service<DesignsRepository, {
  readonly products: Effect.Effect<ReadonlyArray<Product>, DatabaseUnavailable>
  /**
   * Counts the design against the month's quota and inserts it, in one transaction; the
   * counter's row lock serialises a user's concurrent creates, so no race can exceed the limit.
   * Fails with the count already used when the quota is spent (and inserts nothing).
   */
  readonly insertCharged: (design: NewDesign, charge: QuotaCharge) => Effect.Effect<Design, QuotaSpent | DatabaseUnavailable>
  /** A live (not deleted) design, whoever owns it: the caller applies the policy. */
  readonly findLive: (id: DesignId) => Effect.Effect<Option.Option<Design>, DatabaseUnavailable>
  readonly list: (query: DesignQuery) => Effect.Effect<ReadonlyArray<Design>, DatabaseUnavailable>
  /** Applies the changes and bumps the version if `expectedVersion` is current; None otherwise. */
  readonly update: (id: DesignId, expectedVersion: number, changes: DesignChanges) => Effect.Effect<Option.Option<Design>, DatabaseUnavailable>
  readonly softDelete: (id: DesignId) => Effect.Effect<boolean, DatabaseUnavailable>
  readonly usage: (userId: UserId, periodStart: Date) => Effect.Effect<number, DatabaseUnavailable>
}>()("customify/features/designs/DesignsRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))
const PRODUCT_CACHE_TTL = Duration.minutes(5)

interface Row extends Omit<Design, "document"> {
  readonly document: DesignDocument | string
}
/** jsonb arrives parsed; tolerate a driver that hands back text. */
const toDesign = (row: Row): Design => ({
  ...row,
  document: typeof row.document === "string" ? JSON.parse(row.document) as DesignDocument : row.document
})
const periodKey = (periodStart: Date) => periodStart.toISOString().slice(0, 10)

export const layerSql = Layer.effect(DesignsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const columns = sql`id, owner_id, name, product_type, status, document, version, created_at, updated_at`

  const products = yield* sql<{ id: string; name: string; printableWidthMm: string; printableHeightMm: string }>`
    SELECT id, name, printable_width_mm, printable_height_mm FROM products ORDER BY id`.pipe(
    Effect.map((rows) =>
      rows.map((row): Product => ({
        id: row.id,
        name: row.name,
        printableWidthMm: Number(row.printableWidthMm),
        printableHeightMm: Number(row.printableHeightMm)
      }))
    ),
    orUnavailable,
    Effect.cachedWithTTL(PRODUCT_CACHE_TTL)
  )

  const insertCharged = Effect.fn("DesignsRepository.insertCharged")(function*(design: NewDesign, charge: QuotaCharge) {
    const at = yield* now
    return yield* joinOrBegin(sql)(Effect.gen(function*() {
      if (charge.limit !== null && charge.limit <= 0) return yield* new QuotaSpent({ used: 0 })
      const counted = yield* (charge.limit === null
        ? sql<{ designsCreated: number }>`
            INSERT INTO design_usage (user_id, period_start, designs_created)
            VALUES (${design.ownerId}, ${periodKey(charge.periodStart)}, 1)
            ON CONFLICT (user_id, period_start) DO UPDATE SET designs_created = design_usage.designs_created + 1
            RETURNING designs_created`
        : sql<{ designsCreated: number }>`
            INSERT INTO design_usage (user_id, period_start, designs_created)
            VALUES (${design.ownerId}, ${periodKey(charge.periodStart)}, 1)
            ON CONFLICT (user_id, period_start) DO UPDATE SET designs_created = design_usage.designs_created + 1
            WHERE design_usage.designs_created < ${charge.limit}
            RETURNING designs_created`)
      if (counted.length === 0) return yield* new QuotaSpent({ used: charge.limit ?? 0 })
      const [row] = yield* sql<Row>`
        INSERT INTO designs ${sql.insert({
          id: design.id,
          ownerId: design.ownerId,
          name: design.name,
          productType: design.productType,
          status: design.status,
          document: JSON.stringify(design.document),
          version: 1,
          createdAt: at,
          updatedAt: at
        })} RETURNING ${columns}`
      return toDesign(row!)
    })).pipe(orUnavailable)
  })

  return DesignsRepository.of({
    products,
    insertCharged,
    findLive: (id) =>
      sql<Row>`SELECT ${columns} FROM designs WHERE id = ${id} AND deleted_at IS NULL`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toDesign)),
        orUnavailable
      ),
    list: ({ after, limit, ownerId, productType, status }) =>
      sql<Row>`
        SELECT ${columns} FROM designs
        WHERE ${sql.and([
          sql`owner_id = ${ownerId}`,
          sql`deleted_at IS NULL`,
          ...(productType === undefined ? [] : [sql`product_type = ${productType}`]),
          ...(status === undefined ? [] : [sql`status = ${status}`]),
          ...(after === undefined ? [] : [sql`(created_at, id) < (${after.createdAt}, ${after.id})`])
        ])}
        ORDER BY created_at DESC, id DESC
        LIMIT ${limit}`.pipe(Effect.map((rows) => rows.map(toDesign)), orUnavailable),
    update: (id, expectedVersion, changes) =>
      Effect.gen(function*() {
        const at = yield* now
        const rows = yield* sql<Row>`
          UPDATE designs SET ${sql.update({
            ...(changes.name === undefined ? {} : { name: changes.name }),
            ...(changes.status === undefined ? {} : { status: changes.status }),
            ...(changes.document === undefined ? {} : { document: JSON.stringify(changes.document) }),
            updatedAt: at
          })}, version = version + 1
          WHERE id = ${id} AND version = ${expectedVersion} AND deleted_at IS NULL
          RETURNING ${columns}`
        return Option.map(Option.fromNullishOr(rows[0]), toDesign)
      }).pipe(orUnavailable),
    softDelete: (id) =>
      Effect.flatMap(now, (at) =>
        sql`UPDATE designs SET deleted_at = ${at} WHERE id = ${id} AND deleted_at IS NULL RETURNING id`).pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable
      ),
    usage: (userId, periodStart) =>
      sql<{ designsCreated: number }>`
        SELECT designs_created FROM design_usage WHERE user_id = ${userId} AND period_start = ${periodKey(periodStart)}`.pipe(
        Effect.map((rows) => rows[0]?.designsCreated ?? 0),
        orUnavailable
      )
  })
}))

/** The product catalogue the migration seeds, for the in-memory layer. */
export const PRODUCTS: ReadonlyArray<Product> = [
  { id: "hoodie", name: "Hoodie", printableWidthMm: 280, printableHeightMm: 350 },
  { id: "mug", name: "Mug", printableWidthMm: 200, printableHeightMm: 90 },
  { id: "phone-case", name: "Phone case", printableWidthMm: 70, printableHeightMm: 140 },
  { id: "poster", name: "Poster", printableWidthMm: 420, printableHeightMm: 594 },
  { id: "sticker", name: "Sticker", printableWidthMm: 100, printableHeightMm: 100 },
  { id: "t-shirt", name: "T-shirt", printableWidthMm: 300, printableHeightMm: 400 },
  { id: "tote-bag", name: "Tote bag", printableWidthMm: 300, printableHeightMm: 350 }
]

export const layerMemory = Layer.effect(DesignsRepository, Effect.gen(function*() {
  const designs = yield* Ref.make(new Map<DesignId, Design & { deletedAt: Date | null }>())
  const usage = yield* Ref.make(new Map<string, number>())
  const live = (all: Map<DesignId, Design & { deletedAt: Date | null }>, id: DesignId) => {
    const found = all.get(id)
    return found === undefined || found.deletedAt !== null ? Option.none<Design>() : Option.some(strip(found))
  }
  const strip = (stored: Design & { deletedAt: Date | null }): Design => {
    const { deletedAt, ...design } = stored
    void deletedAt
    return design
  }
  return DesignsRepository.of({
    products: Effect.succeed(PRODUCTS),
    insertCharged: (design, charge) =>
      Effect.gen(function*() {
        const at = yield* now
        const key = `${design.ownerId}:${periodKey(charge.periodStart)}`
        const counts = yield* Ref.get(usage)
        const used = counts.get(key) ?? 0
        if (charge.limit !== null && used >= charge.limit) return yield* new QuotaSpent({ used })
        counts.set(key, used + 1)
        const created: Design = { ...design, version: 1, createdAt: at, updatedAt: at }
        ;(yield* Ref.get(designs)).set(design.id, { ...created, deletedAt: null })
        return created
      }),
    findLive: (id) => Effect.map(Ref.get(designs), (all) => live(all, id)),
    list: ({ after, limit, ownerId, productType, status }) =>
      Effect.map(Ref.get(designs), (all) =>
        [...all.values()]
          .filter((d) => d.ownerId === ownerId && d.deletedAt === null)
          .filter((d) => productType === undefined || d.productType === productType)
          .filter((d) => status === undefined || d.status === status)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
          .filter((d) =>
            after === undefined ||
            d.createdAt.getTime() < after.createdAt.getTime() ||
            (d.createdAt.getTime() === after.createdAt.getTime() && d.id < after.id)
          )
          .slice(0, limit)
          .map(strip)),
    update: (id, expectedVersion, changes) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(designs)
        const current = all.get(id)
        if (current === undefined || current.deletedAt !== null || current.version !== expectedVersion) {
          return Option.none()
        }
        const next = { ...current, ...changes, version: current.version + 1, updatedAt: at }
        all.set(id, next)
        return Option.some(strip(next))
      }),
    softDelete: (id) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(designs)
        const current = all.get(id)
        if (current === undefined || current.deletedAt !== null) return false
        all.set(id, { ...current, deletedAt: at })
        return true
      }),
    usage: (userId, periodStart) =>
      Effect.map(Ref.get(usage), (counts) => counts.get(`${userId}:${periodKey(periodStart)}`) ?? 0)
  })
}))
