import { Context, Effect, Layer, Option, Ref, Schema, SchemaTransformation, Struct } from "effect"
import { SessionRevoked } from "../../domain/AuthErrors.ts"
import { SqlClient } from "effect/sql"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { joinOrBegin } from "../../capabilities/database/Transactions.ts"
import { Asset, AssetId, UploadLimitReached } from "../../domain/Asset.ts"
import type { DesignId } from "../../domain/Design.ts"
import { comesAfter, newestFirst } from "../../domain/Pagination.ts"
import type { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

/** A pending asset: the stored one before its upload is completed. */
export type NewAsset = Omit<Asset, "status" | "completedAt">

/** How many uploads a design may have, and how many its owner may have pending at once. */
export interface UploadLimits {
  readonly perDesign: number
  readonly pendingPerUser: number
}

/** A deleted asset's object folder to remove from storage, and when the removal was asked for. */
export interface ObjectRemoval {
  readonly prefix: string
  readonly at: Date
}

/** Keyset position: uploads strictly older than this one. */
const AssetCursor = Asset.mapFields(Struct.pick(["createdAt", "id"]))

const DesignAssetsQuery = Schema.Struct({
  designId: Asset.fields.designId,
  limit: Schema.Int,
  after: Schema.optional(AssetCursor)
})
export type DesignAssetsQuery = typeof DesignAssetsQuery.Type

export class AssetsRepository extends Context.Service<AssetsRepository, {
  /**
   * Records a pending asset unless its design already has `perDesign` uploads or its owner
   * `pendingPerUser` pending ones. Atomic: parallel inserts (on any instance) never exceed either.
   */
  /** SessionRevoked: the owner's account was deleted meanwhile. */
  readonly insert: (asset: NewAsset, limits: UploadLimits) => Effect.Effect<Asset, UploadLimitReached | SessionRevoked | DatabaseUnavailable>
  /** An asset of a design, whoever owns it: the caller applies the policy. */
  readonly find: (designId: DesignId, id: AssetId) => Effect.Effect<Option.Option<Asset>, DatabaseUnavailable>
  /** Marks a pending asset complete (a complete one is returned as it is). */
  readonly markComplete: (id: AssetId, at: Date) => Effect.Effect<Option.Option<Asset>, DatabaseUnavailable>
  /** Which of `ids` are completed assets of `ownerId`. */
  readonly completedOf: (ownerId: UserId, ids: ReadonlyArray<AssetId>) => Effect.Effect<ReadonlySet<AssetId>, DatabaseUnavailable>
  /** Up to `limit` pending assets created before `before`, oldest first. */
  readonly pendingBefore: (before: Date, limit: number) => Effect.Effect<ReadonlyArray<Asset>, DatabaseUnavailable>
  /**
   * Deletes the asset if it is still pending and was created before `before`; None when it is
   * not (completed meanwhile, or gone). Inside a transaction the row stays locked until the end,
   * so a completion racing the deletion waits, then finds nothing.
   */
  readonly deletePending: (id: AssetId, before: Date) => Effect.Effect<Option.Option<Asset>, DatabaseUnavailable>
  /** Up to `limit` uploads of the design, newest first, strictly after `after` when given. */
  readonly listForDesign: (query: DesignAssetsQuery) => Effect.Effect<ReadonlyArray<Asset>, DatabaseUnavailable>
  /**
   * The asset of the design, locked until the caller's transaction ends (FOR UPDATE: a design
   * write showing it waits, a second deletion waits and then finds nothing). None when missing.
   */
  readonly lockForDeletion: (designId: DesignId, id: AssetId) => Effect.Effect<Option.Option<Asset>, DatabaseUnavailable>
  /**
   * Deletes the asset's row and records `prefix` (its object's folder) for removal from storage,
   * in one statement: the row never outlives its object unnoticed, and the object's removal is
   * retried until storage confirms it. False when the row was already gone.
   */
  readonly delete: (id: AssetId, removal: ObjectRemoval) => Effect.Effect<boolean, DatabaseUnavailable>
  /** Up to `limit` folders awaiting removal from storage, recorded before `before`, oldest first. */
  readonly removalsDue: (before: Date, limit: number) => Effect.Effect<ReadonlyArray<string>, DatabaseUnavailable>
  /** Storage confirmed the folder's removal. */
  readonly removalDone: (prefix: string) => Effect.Effect<void, DatabaseUnavailable>
}>()("customify/features/assets/AssetsRepository") {}

/** The driver reads a `bigint` column as a `bigint`; sizes are safe integers, numbers in code. */
const SizeFromBigInt = Schema.BigInt.pipe(
  Schema.decodeTo(Asset.fields.byteSize, SchemaTransformation.transform({ decode: Number, encode: BigInt }))
)

/** An asset as a row holds it. */
const AssetRow = Asset.mapFields(Struct.assign({ byteSize: SizeFromBigInt }))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const layerSql = Layer.effect(AssetsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const columns = sql`id, owner_id, design_id, key, file_name, content_type, byte_size, status, created_at, completed_at`
  const insert = StoredRows.findOne({
    Request: AssetRow,
    Result: AssetRow,
    execute: (asset) => sql`INSERT INTO assets ${sql.insert(asset)} RETURNING ${columns}`
  })
  const find = StoredRows.findOneOption({
    Request: Asset.mapFields(Struct.pick(["id", "designId"])),
    Result: AssetRow,
    execute: ({ designId, id }) => sql`SELECT ${columns} FROM assets WHERE id = ${id} AND design_id = ${designId}`
  })
  const markComplete = StoredRows.findOneOption({
    Request: Schema.Struct({ id: AssetId, at: Asset.fields.createdAt }),
    Result: AssetRow,
    execute: ({ at, id }) =>
      sql`
        UPDATE assets SET status = 'complete', completed_at = COALESCE(completed_at, ${at})
        WHERE id = ${id}
        RETURNING ${columns}`
  })
  const pendingBefore = StoredRows.findAll({
    Request: Schema.Struct({ before: Asset.fields.createdAt, limit: Schema.Int }),
    Result: AssetRow,
    execute: ({ before, limit }) =>
      sql`
        SELECT ${columns} FROM assets
        WHERE status = 'pending' AND created_at < ${before}
        ORDER BY created_at
        LIMIT ${limit}`
  })
  const deletePending = StoredRows.findOneOption({
    Request: Schema.Struct({ id: AssetId, before: Asset.fields.createdAt }),
    Result: AssetRow,
    execute: ({ before, id }) =>
      sql`
        DELETE FROM assets
        WHERE id = ${id} AND status = 'pending' AND created_at < ${before}
        RETURNING ${columns}`
  })
  const insertWithinLimits = (asset: NewAsset, limits: UploadLimits) =>
    joinOrBegin(sql)(Effect.gen(function*() {
      // Every upload of one owner queues on the owner's row (NO KEY UPDATE: only writers of the
      // row wait, not the foreign keys pointing at it), and each statement after the lock sees
      // what the uploads before it committed: two requests never pass on counts missing each other.
      const owner = yield* sql`SELECT 1 FROM users WHERE id = ${asset.ownerId} FOR NO KEY UPDATE`
      // The account was deleted while this request waited (another device): so were its sessions.
      if (owner.length === 0) return yield* new SessionRevoked()
      const [counts] = yield* sql<{ readonly ofDesign: number; readonly pending: number }>`
        SELECT
          (SELECT count(*)::int FROM assets WHERE design_id = ${asset.designId}) AS of_design,
          (SELECT count(*)::int FROM assets WHERE owner_id = ${asset.ownerId} AND status = 'pending') AS pending`
      if ((counts?.ofDesign ?? 0) >= limits.perDesign) {
        return yield* new UploadLimitReached({ scope: "design", limit: limits.perDesign })
      }
      if ((counts?.pending ?? 0) >= limits.pendingPerUser) {
        return yield* new UploadLimitReached({ scope: "pending", limit: limits.pendingPerUser })
      }
      return yield* insert({ ...asset, status: "pending", completedAt: null }).pipe(
        Effect.catchTag("NoSuchElementError", Effect.die)
      )
    }))

  const listForDesign = StoredRows.findAll({
    Request: DesignAssetsQuery,
    Result: AssetRow,
    execute: ({ after, designId, limit }) =>
      sql`
        SELECT ${columns} FROM assets
        WHERE design_id = ${designId}
          ${after === undefined ? sql`` : sql`AND (created_at, id) < (${after.createdAt}, ${after.id})`}
        ORDER BY created_at DESC, id DESC
        LIMIT ${limit}`
  })
  const lockForDeletion = StoredRows.findOneOption({
    Request: Asset.mapFields(Struct.pick(["id", "designId"])),
    Result: AssetRow,
    execute: ({ designId, id }) => sql`SELECT ${columns} FROM assets WHERE id = ${id} AND design_id = ${designId} FOR UPDATE`
  })

  return AssetsRepository.of({
    listForDesign: (query) => listForDesign(query).pipe(orUnavailable),
    lockForDeletion: (designId, id) => lockForDeletion({ designId, id }).pipe(orUnavailable),
    delete: (id, removal) =>
      sql`
        WITH gone AS (DELETE FROM assets WHERE id = ${id} RETURNING id)
        INSERT INTO asset_object_removals (prefix, requested_at)
        SELECT ${removal.prefix}, ${removal.at} FROM gone
        ON CONFLICT (prefix) DO NOTHING
        RETURNING 1`.pipe(Effect.map((rows) => rows.length > 0), orUnavailable),
    removalsDue: (before, limit) =>
      sql<{ prefix: string }>`
        SELECT prefix FROM asset_object_removals WHERE requested_at < ${before} ORDER BY requested_at LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map((row) => row.prefix)),
        orUnavailable
      ),
    removalDone: (prefix) => sql`DELETE FROM asset_object_removals WHERE prefix = ${prefix}`.pipe(Effect.asVoid, orUnavailable),
    insert: (asset, limits) =>
      insertWithinLimits(asset, limits).pipe(orUnavailable, Effect.withSpan("AssetsRepository.insert")),
    pendingBefore: (before, limit) => pendingBefore({ before, limit }).pipe(orUnavailable),
    deletePending: (id, before) => deletePending({ id, before }).pipe(orUnavailable),
    find: (designId, id) => find({ designId, id }).pipe(orUnavailable),
    markComplete: (id, at) => markComplete({ id, at }).pipe(orUnavailable),
    completedOf: (ownerId, ids) => {
      // Only well-formed ids reach the query (the document schema checks them already).
      const wanted = [...new Set(ids)].filter((id) => UUID.test(id))
      if (wanted.length === 0) return Effect.succeed(new Set<AssetId>())
      return sql<{ id: AssetId }>`
        SELECT id FROM assets
        WHERE owner_id = ${ownerId} AND status = 'complete' AND id IN ${sql.in(wanted)}`.pipe(
        Effect.map((rows) => new Set(rows.map((row) => row.id.toLowerCase() as AssetId))),
        orUnavailable
      )
    }
  })
}))

export const layerMemory = Layer.effect(AssetsRepository, Effect.gen(function*() {
  const assets = yield* Ref.make(new Map<AssetId, Asset>())
  const removals = new Map<string, Date>()
  const ofDesign = (designId: DesignId, id: AssetId) =>
    Effect.map(Ref.get(assets), (all) => Option.filter(Option.fromNullishOr(all.get(id)), (a) => a.designId === designId))
  return AssetsRepository.of({
    listForDesign: ({ after, designId, limit }) =>
      Effect.map(Ref.get(assets), (all) =>
        [...all.values()].filter((asset) => asset.designId === designId).sort(newestFirst).filter(comesAfter(after)).slice(0, limit)),
    lockForDeletion: ofDesign,
    delete: (id, removal) =>
      Effect.map(Ref.get(assets), (all) => {
        if (!all.delete(id)) return false
        if (!removals.has(removal.prefix)) removals.set(removal.prefix, removal.at)
        return true
      }),
    removalsDue: (before, limit) =>
      Effect.sync(() =>
        [...removals].filter(([, at]) => at.getTime() < before.getTime()).map(([prefix]) => prefix).slice(0, limit)),
    removalDone: (prefix) => Effect.sync(() => void removals.delete(prefix)),
    insert: (asset, limits) =>
      Effect.flatMap(Ref.get(assets), (all) => {
        if ([...all.values()].some((a) => a.key === asset.key)) throw new Error(`duplicate asset key ${asset.key}`)
        const stored = [...all.values()]
        if (stored.filter((a) => a.designId === asset.designId).length >= limits.perDesign) {
          return Effect.fail(new UploadLimitReached({ scope: "design", limit: limits.perDesign }))
        }
        if (stored.filter((a) => a.ownerId === asset.ownerId && a.status === "pending").length >= limits.pendingPerUser) {
          return Effect.fail(new UploadLimitReached({ scope: "pending", limit: limits.pendingPerUser }))
        }
        const inserted: Asset = { ...asset, status: "pending", completedAt: null }
        all.set(asset.id, inserted)
        return Effect.succeed(inserted)
      }),
    pendingBefore: (before, limit) =>
      Effect.map(Ref.get(assets), (all) =>
        [...all.values()]
          .filter((a) => a.status === "pending" && a.createdAt.getTime() < before.getTime())
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
          .slice(0, limit)),
    deletePending: (id, before) =>
      Effect.map(Ref.get(assets), (all) => {
        const found = all.get(id)
        if (found === undefined || found.status !== "pending" || found.createdAt.getTime() >= before.getTime()) {
          return Option.none()
        }
        all.delete(id)
        return Option.some(found)
      }),
    find: ofDesign,
    markComplete: (id, at) =>
      Effect.map(Ref.get(assets), (all) => {
        const current = all.get(id)
        if (current === undefined) return Option.none()
        const next: Asset = current.status === "complete" ? current : { ...current, status: "complete", completedAt: at }
        all.set(id, next)
        return Option.some(next)
      }),
    completedOf: (ownerId, ids) =>
      Effect.map(Ref.get(assets), (all) =>
        new Set(ids.filter((id) => {
          const asset = all.get(id)
          return asset !== undefined && asset.ownerId === ownerId && asset.status === "complete"
        })))
  })
}))
