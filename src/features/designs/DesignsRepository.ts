import { Clock, Context, Data, Duration, Effect, Exit, Layer, Option, Ref, Schema, Struct } from "effect"
import { AssetReferenceLost } from "../../domain/Asset.ts"
import { SessionRevoked } from "../../domain/AuthErrors.ts"
import { SubscriptionInactive } from "../../domain/DesignErrors.ts"
import { SqlClient } from "effect/sql"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { Design, DesignChanges, DesignId, DesignStatus, Product, ProductType } from "../../domain/Design.ts"
import { INT32_MAX, Timestamp } from "../../domain/Primitives.ts"
import { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable, violatesForeignKey } from "../../capabilities/database/DatabaseUnavailable.ts"

/** A design's own fields; the repository numbers its version and stamps its times. */
export type NewDesign = Pick<Design, "id" | "ownerId" | "name" | "productType" | "status" | "document">

/**
 * The month's counter and the ceiling the caller read (`limit: null` is unlimited). PostgreSQL
 * charges against the subscription as it is when the statement runs, not this copy: a plan
 * change or cancellation that committed meanwhile decides (the memory layer uses `limit`).
 */
export interface QuotaCharge {
  readonly periodStart: Date
  readonly limit: number | null
}

/** The month's quota is spent: nothing was inserted. `limit` is the plan's that refused. */
export class QuotaSpent extends Data.TaggedError("QuotaSpent")<{ readonly used: number; readonly limit: number | null }> {}

/** Keyset position: designs strictly older than this one. */
const DesignCursor = Design.mapFields(Struct.pick(["createdAt", "id"]))
export type DesignCursor = typeof DesignCursor.Type

const DesignQuery = Schema.Struct({
  ownerId: UserId,
  limit: Schema.Int,
  after: Schema.optional(DesignCursor),
  productType: Schema.optional(ProductType),
  status: Schema.optional(DesignStatus)
})
export type DesignQuery = typeof DesignQuery.Type

/** What must still hold for an update to apply. */
export interface UpdateGuard {
  readonly ownerId: UserId
  readonly expectedVersion: number
  /** The products the new document fits; undefined: any (the document is unchanged). */
  readonly productTypes?: ReadonlyArray<string> | undefined
}

const DesignUpdate = Schema.Struct({
  id: DesignId,
  ownerId: UserId,
  expectedVersion: Schema.Int,
  productTypes: Schema.optional(Schema.Array(Schema.String)),
  changes: DesignChanges,
  at: Timestamp
})

export class DesignsRepository extends Context.Service<DesignsRepository, {
  readonly products: Effect.Effect<ReadonlyArray<Product>, DatabaseUnavailable>
  /**
   * Counts the design against the month's quota and inserts it, in one statement; the
   * counter's row lock serialises a user's concurrent creates, so no race can exceed the limit.
   * The subscription is read in the statement too, its row locked (FOR SHARE) so that a plan
   * change waits for it or is seen by it: SubscriptionInactive when it is no longer active.
   * Fails with the count already used when the quota is spent (and inserts nothing), with
   * SessionRevoked when the owner's account was deleted meanwhile, and with AssetReferenceLost
   * when an upload an image layer shows was deleted meanwhile (the database refuses the document).
   */
  readonly insertCharged: (
    design: NewDesign,
    charge: QuotaCharge
  ) => Effect.Effect<Design, QuotaSpent | SubscriptionInactive | SessionRevoked | AssetReferenceLost | DatabaseUnavailable>
  /** A live (not deleted) design, whoever owns it: the caller applies the policy. */
  readonly findLive: (id: DesignId) => Effect.Effect<Option.Option<Design>, DatabaseUnavailable>
  readonly list: (query: DesignQuery) => Effect.Effect<ReadonlyArray<Design>, DatabaseUnavailable>
  /**
   * Applies the changes and bumps the version, in one statement, if the live design is still
   * `expectedVersion`, `ownerId` owns it and (when given) its product is one of `productTypes`;
   * None otherwise, and for a design at the last version its column holds (INT32_MAX).
   */
  readonly update: (
    id: DesignId,
    expected: UpdateGuard,
    changes: DesignChanges
  ) => Effect.Effect<Option.Option<Design>, AssetReferenceLost | DatabaseUnavailable>
  /** Deletes the live design if `ownerId` owns it, in one statement; false when there was none to delete. */
  readonly softDelete: (id: DesignId, ownerId: UserId) => Effect.Effect<boolean, DatabaseUnavailable>
  /** Up to `limit` live designs of the owner whose current document has an image layer showing the asset. */
  readonly showingAsset: (ownerId: UserId, assetId: string, limit: number) => Effect.Effect<ReadonlyArray<DesignId>, DatabaseUnavailable>
  readonly usage: (userId: UserId, periodStart: Date) => Effect.Effect<number, DatabaseUnavailable>
}>()("customify/features/designs/DesignsRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))
/**
 * The catalogue served by GET /products (Cache-Control max-age 5 minutes) reflects a change of
 * the table within this: see the catalogue feature.
 */
const PRODUCT_CACHE_TTL = Duration.minutes(1)

/**
 * The database's refusal of a document whose image layer shows an upload that is not (or no
 * longer) a completed one of the owner: migration 0011's trigger, raised as this foreign key.
 */
const referencesLost = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, (error) => violatesForeignKey(error, /^designs_layer_asset_fkey$/u), () =>
    Effect.fail(new AssetReferenceLost()))

const periodKey = (periodStart: Date) => periodStart.toISOString().slice(0, 10)

/**
 * The design a successful insert stores: version 1, created and updated now. Checked by the
 * schema (the use cases pass names and product types as plain strings).
 */
const created = (design: NewDesign, at: Date) => Design.make({ ...design, version: 1, createdAt: at, updatedAt: at })

export const layerSql = Layer.effect(DesignsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // Reads alias the columns to the entity's field names and skip the client's renaming of result
  // columns: a list would otherwise rebuild every row (up to 101) key by key.
  const reads = sql.withoutTransforms()
  const columns = sql`id, owner_id AS "ownerId", name, product_type AS "productType", status, document, version,
    created_at AS "createdAt", updated_at AS "updatedAt"`

  const products = yield* StoredRows.findAll({
    Request: Schema.Void,
    Result: Product,
    // numeric columns arrive as text; the catalogue's sizes are exact in a double.
    execute: () =>
      sql`SELECT id, name, printable_width_mm::float8 AS printable_width_mm, printable_height_mm::float8 AS printable_height_mm
        FROM products ORDER BY id`
  })().pipe(
    orUnavailable,
    // Only a catalogue that loaded is kept: a failure (an outage) is retried by the next caller.
    Effect.cachedWithTTL((exit) => Exit.isSuccess(exit) ? PRODUCT_CACHE_TTL : Duration.zero)
  )

  /**
   * The charge and the insert as one statement (ADR 0021): the upsert takes the counter's row
   * lock and re-checks the guard on the latest committed count, the insert selects from its
   * output, so a refused charge inserts nothing and the lock is held for this statement only.
   * On a refusal, `used` is the counter in this statement's snapshot (null: no row in it yet).
   */
  const chargeAndInsert = (design: Design, periodStart: string) =>
    sql<{
      readonly owner: boolean
      readonly status: string | null
      readonly quota: number | null
      readonly inserted: boolean
      readonly used: number | null
    }>`
      WITH owner AS (
        -- The owner's row first, as the account deletion locks it (then cascades to the counter):
        -- taking the counter's lock first and the owner's at the foreign key check deadlocked
        -- with a deletion in between. An account deleted meanwhile leaves no row here.
        SELECT id FROM users WHERE id = ${design.ownerId} FOR KEY SHARE
      ), subscription AS (
        -- The plan as it is now: a change committed since the caller read it (cached) decides,
        -- and one still running waits for this statement (its upsert needs this row).
        SELECT s.status, p.monthly_design_quota AS quota FROM subscriptions s JOIN plans p ON p.id = s.plan_id
        WHERE s.user_id = ${design.ownerId} FOR SHARE OF s
      ), charged AS (
        INSERT INTO design_usage (user_id, period_start, designs_created)
        SELECT owner.id, ${periodStart}::date, 1 FROM owner, subscription
        WHERE subscription.status = 'active' AND (subscription.quota IS NULL OR subscription.quota > 0)
        ON CONFLICT (user_id, period_start) DO UPDATE SET designs_created = design_usage.designs_created + 1
        WHERE (SELECT quota FROM subscription) IS NULL OR design_usage.designs_created < (SELECT quota FROM subscription)
        RETURNING 1
      ), inserted AS (
        INSERT INTO designs (id, owner_id, name, product_type, status, document, version, created_at, updated_at)
        SELECT ${design.id}::uuid, ${design.ownerId}::uuid, ${design.name}::text, ${design.productType}::text,
          ${design.status}::text, ${JSON.stringify(design.document)}::jsonb, ${design.version}::int,
          ${design.createdAt}::timestamptz, ${design.updatedAt}::timestamptz
        FROM charged
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM owner) AS owner, (SELECT status FROM subscription) AS status,
        (SELECT quota FROM subscription) AS quota, EXISTS (SELECT 1 FROM inserted) AS inserted,
        CASE WHEN EXISTS (SELECT 1 FROM charged) THEN NULL
        ELSE (SELECT designs_created FROM design_usage WHERE user_id = ${design.ownerId} AND period_start = ${periodStart})
        END AS used`

  const insertCharged = Effect.fn("DesignsRepository.insertCharged")(function*(design: NewDesign, charge: QuotaCharge) {
    const stored = created(design, yield* now)
    const [outcome] = yield* chargeAndInsert(stored, periodKey(charge.periodStart)).pipe(
      // The owner's account was deleted while this request ran (another device): so were its sessions.
      Effect.catchIf((error) => violatesForeignKey(error, /_(user|owner)_id_fkey$/u), () => Effect.fail(new SessionRevoked())),
      referencesLost,
      orUnavailable
    )
    if (outcome?.inserted === true) return stored
    if (outcome === undefined || !outcome.owner) return yield* new SessionRevoked()
    if (outcome.status !== "active") {
      return yield* new SubscriptionInactive({ status: outcome.status === null ? "none" : outcome.status as SubscriptionInactive["status"] })
    }
    // Refused: the guard saw at least `quota` on the latest count, which is at least the snapshot's.
    return yield* new QuotaSpent({ used: Math.max(outcome.quota ?? 0, outcome.used ?? 0), limit: outcome.quota })
  })

  const findLive = StoredRows.findOneOption({
    Request: DesignId,
    Result: Design,
    execute: (id) => reads`SELECT ${columns} FROM designs WHERE id = ${id} AND deleted_at IS NULL`
  })

  const list = StoredRows.findAll({
    Request: DesignQuery,
    Result: Design,
    execute: ({ after, limit, ownerId, productType, status }) =>
      reads`
        SELECT ${columns} FROM designs
        WHERE ${sql.and([
          sql`owner_id = ${ownerId}`,
          sql`deleted_at IS NULL`,
          ...(productType === undefined ? [] : [sql`product_type = ${productType}`]),
          ...(status === undefined ? [] : [sql`status = ${status}`]),
          ...(after === undefined ? [] : [sql`(created_at, id) < (${after.createdAt}, ${after.id})`])
        ])}
        ORDER BY created_at DESC, id DESC
        LIMIT ${limit}`
  })

  const update = StoredRows.findOneOption({
    Request: DesignUpdate,
    Result: Design,
    execute: ({ at, changes, expectedVersion, id, ownerId, productTypes }) =>
      sql`
        UPDATE designs SET ${sql.update({
          ...changes,
          ...(changes.document === undefined ? {} : { document: JSON.stringify(changes.document) }),
          updatedAt: at
        })}, version = version + 1
        WHERE id = ${id} AND owner_id = ${ownerId} AND version = ${expectedVersion} AND deleted_at IS NULL
          AND version < ${INT32_MAX}
          ${productTypes === undefined ? sql`` : sql`AND product_type IN ${sql.in(productTypes)}`}
        RETURNING ${columns}`
  })

  return DesignsRepository.of({
    products,
    insertCharged,
    findLive: (id) => findLive(id).pipe(orUnavailable),
    list: (query) => list(query).pipe(orUnavailable),
    update: (id, { expectedVersion, ownerId, productTypes }, changes) =>
      Effect.flatMap(now, (at) => update({ id, ownerId, expectedVersion, productTypes, changes, at })).pipe(
        referencesLost,
        orUnavailable
      ),
    softDelete: (id, ownerId) =>
      Effect.flatMap(now, (at) =>
        sql`UPDATE designs SET deleted_at = ${at}
          WHERE id = ${id} AND owner_id = ${ownerId} AND deleted_at IS NULL RETURNING id`).pipe(
        Effect.map((rows) => rows.length > 0),
        orUnavailable
      ),
    showingAsset: (ownerId, assetId, limit) =>
      sql<{ id: DesignId }>`
        SELECT id FROM designs
        WHERE owner_id = ${ownerId} AND deleted_at IS NULL
          AND document @? '$.layers[*] ? (@.type == "image")'
          -- By value, not by containment: a document stored before ids were canonical (e0afce4)
          -- may spell the id in upper or mixed case, which the trigger's uuid cast accepts too.
          AND EXISTS (
            SELECT 1 FROM jsonb_array_elements(
              CASE WHEN jsonb_typeof(document->'layers') = 'array' THEN document->'layers' ELSE '[]'::jsonb END
            ) AS layer
            WHERE layer->>'type' = 'image' AND lower(layer->>'assetId') = lower(${assetId}::text))
        ORDER BY id
        LIMIT ${limit}`.pipe(Effect.map((rows) => rows.map((row) => row.id)), orUnavailable),
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

interface Stored {
  readonly design: Design
  readonly deletedAt: Date | null
}

export const layerMemory = Layer.effect(DesignsRepository, Effect.gen(function*() {
  const designs = yield* Ref.make(new Map<DesignId, Stored>())
  const usage = yield* Ref.make(new Map<string, number>())
  const live = (all: Map<DesignId, Stored>, id: DesignId) => {
    const found = all.get(id)
    return found === undefined || found.deletedAt !== null ? Option.none<Design>() : Option.some(found.design)
  }
  return DesignsRepository.of({
    products: Effect.succeed(PRODUCTS),
    insertCharged: (design, charge) =>
      Effect.gen(function*() {
        const stored = created(design, yield* now)
        const key = `${design.ownerId}:${periodKey(charge.periodStart)}`
        const counts = yield* Ref.get(usage)
        const used = counts.get(key) ?? 0
        if (charge.limit !== null && used >= charge.limit) return yield* new QuotaSpent({ used, limit: charge.limit })
        counts.set(key, used + 1)
        ;(yield* Ref.get(designs)).set(design.id, { design: stored, deletedAt: null })
        return stored
      }),
    findLive: (id) => Effect.map(Ref.get(designs), (all) => live(all, id)),
    list: ({ after, limit, ownerId, productType, status }) =>
      Effect.map(Ref.get(designs), (all) =>
        [...all.values()]
          .filter(({ deletedAt, design }) => design.ownerId === ownerId && deletedAt === null)
          .map(({ design }) => design)
          .filter((d) => productType === undefined || d.productType === productType)
          .filter((d) => status === undefined || d.status === status)
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
          .filter((d) =>
            after === undefined ||
            d.createdAt.getTime() < after.createdAt.getTime() ||
            (d.createdAt.getTime() === after.createdAt.getTime() && d.id < after.id)
          )
          .slice(0, limit)),
    update: (id, { expectedVersion, ownerId, productTypes }, changes) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(designs)
        const current = Option.getOrUndefined(live(all, id))
        if (
          current === undefined || current.ownerId !== ownerId || current.version !== expectedVersion ||
          current.version >= INT32_MAX ||
          (productTypes !== undefined && !productTypes.includes(current.productType))
        ) return Option.none()
        const next: Design = { ...current, ...changes, version: current.version + 1, updatedAt: at }
        all.set(id, { design: next, deletedAt: null })
        return Option.some(next)
      }),
    softDelete: (id, ownerId) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(designs)
        const current = Option.getOrUndefined(live(all, id))
        if (current === undefined || current.ownerId !== ownerId) return false
        all.set(id, { design: current, deletedAt: at })
        return true
      }),
    showingAsset: (ownerId, assetId, limit) =>
      Effect.map(Ref.get(designs), (all) =>
        [...all.values()]
          .filter(({ deletedAt, design }) =>
            deletedAt === null && design.ownerId === ownerId &&
            design.document.layers.some((layer) => layer.type === "image" && layer.assetId.toLowerCase() === assetId.toLowerCase()))
          .map(({ design }) => design.id)
          .sort()
          .slice(0, limit)),
    usage: (userId, periodStart) =>
      Effect.map(Ref.get(usage), (counts) => counts.get(`${userId}:${periodKey(periodStart)}`) ?? 0)
  })
}))
