import { randomUUID } from "node:crypto"
import { Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Database from "../../src/capabilities/database/Database.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import type { AssetId } from "../../src/domain/Asset.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as AssetsRepository from "../../src/features/assets/AssetsRepository.ts"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"

/** The SQL repository on the real schema (migrations applied), against the memory repository's behaviour. */
const scope = Effect.runSync(Scope.make())
let layer: Layer.Layer<AssetsRepository.AssetsRepository | SqlClient.SqlClient>

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const database = serverUrl === undefined
    ? Database.layerMemory
    : Database.layer.pipe(Layer.provide(AppConfig.layerTest({
      databaseUrl: Option.some(Redacted.make(await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))))
    })))
  const context = await Effect.runPromise(
    Layer.build(AssetsRepository.layerSql.pipe(Layer.provideMerge(database))).pipe(Scope.provide(scope))
  )
  layer = Layer.succeedContext(context)
  await Effect.runPromise(Database.migrate.pipe(Effect.provide(layer)))
}, 60_000)
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const run = <A, E>(effect: Effect.Effect<A, E, AssetsRepository.AssetsRepository | SqlClient.SqlClient>) =>
  Effect.runPromise(Effect.provide(effect, layer))

type Repository = AssetsRepository.AssetsRepository["Service"]
const repo = <A, E>(f: (repository: Repository) => Effect.Effect<A, E>) =>
  run(Effect.gen(function*() {
    return yield* f(yield* AssetsRepository.AssetsRepository)
  }))

const seed = () =>
  run(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const userId = randomUUID() as UserId
    const designId = randomUUID() as DesignId
    const now = new Date()
    yield* sql`INSERT INTO users (id, email, password_hash, full_name, created_at, updated_at)
      VALUES (${userId}, ${`${userId}@example.com`}, 'x', 'U', ${now}, ${now})`
    yield* sql`INSERT INTO designs (id, owner_id, name, product_type, document, created_at, updated_at)
      VALUES (${designId}, ${userId}, 'D', 'mug', '{}'::jsonb, ${now}, ${now})`
    return { userId, designId }
  }))

const newAsset = (userId: UserId, designId: DesignId, byteSize = 68) => {
  const id = randomUUID() as AssetId
  return {
    id,
    ownerId: userId,
    designId,
    key: `users/${userId}/designs/${designId}/${id}/a.png`,
    fileName: "a.png",
    contentType: "image/png" as const,
    byteSize,
    createdAt: new Date("2025-05-10T12:00:00.000Z")
  }
}

const LIMITS = { perDesign: 50, pendingPerUser: 20 }

describe("AssetsRepository.layerSql", () => {
  it("inserts pending, finds by design, completes once, lists completed ids by owner", async () => {
    const { designId, userId } = await seed()
    const other = await seed()
    const big = 3 * 1024 * 1024 * 1024
    const asset = newAsset(userId, designId, big)
    const inserted = await repo((r) => r.insert(asset, LIMITS))
    expect(inserted).toEqual({ ...asset, status: "pending", completedAt: null })
    expect(inserted.byteSize).toBe(big)

    expect(await repo((r) => r.find(designId, asset.id))).toEqual(Option.some(inserted))
    expect(await repo((r) => r.find(other.designId, asset.id))).toEqual(Option.none())
    expect(await repo((r) => r.completedOf(userId, [asset.id]))).toEqual(new Set())

    const at = new Date("2025-05-10T12:01:00.000Z")
    const completed = await repo((r) => r.markComplete(asset.id, at))
    expect(completed).toEqual(Option.some({ ...inserted, status: "complete", completedAt: at }))
    // Completing again keeps the first time.
    expect(await repo((r) => r.markComplete(asset.id, new Date()))).toEqual(completed)

    const theirs = newAsset(other.userId, other.designId)
    await repo((r) => r.insert(theirs, LIMITS))
    await repo((r) => r.markComplete(theirs.id, at))
    const found = await repo((r) => r.completedOf(userId, [asset.id, theirs.id, randomUUID() as AssetId, "not-a-uuid" as AssetId]))
    expect(found).toEqual(new Set([asset.id]))
  })

  it("keeps keys unique and goes with the user", async () => {
    const { designId, userId } = await seed()
    const asset = newAsset(userId, designId)
    await repo((r) => r.insert(asset, LIMITS))
    const duplicate = await repo((r) => Effect.exit(r.insert({ ...asset, id: randomUUID() as AssetId }, LIMITS)))
    expect(Exit.isFailure(duplicate)).toBe(true)
    await run(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`DELETE FROM users WHERE id = ${userId}`
    }))
    expect(await repo((r) => r.find(designId, asset.id))).toEqual(Option.none())
  })

  it("lists a design's uploads newest first after a cursor; a deletion records the folder until it is done", async () => {
    const { designId, userId } = await seed()
    const assets = [0, 1, 2].map((i) => ({ ...newAsset(userId, designId), createdAt: new Date(Date.UTC(2025, 4, 10, 12, i)) }))
    for (const asset of assets) await repo((r) => r.insert(asset, LIMITS))
    const all = await repo((r) => r.listForDesign({ designId, limit: 10 }))
    expect(all.map((a) => a.id)).toEqual(assets.map((a) => a.id).reverse())
    const after = await repo((r) => r.listForDesign({ designId, limit: 10, after: all[0]! }))
    expect(after.map((a) => a.id)).toEqual([assets[1]!.id, assets[0]!.id])

    const prefix = `users/${userId}/designs/${designId}/${assets[0]!.id}/`
    const at = new Date("2025-05-10T13:00:00.000Z")
    const locked = await run(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.withTransaction(Effect.gen(function*() {
        const repository = yield* AssetsRepository.AssetsRepository
        const found = yield* repository.lockForDeletion(designId, assets[0]!.id)
        const deleted = yield* repository.delete(assets[0]!.id, { prefix, at })
        return { found, deleted }
      }))
    }))
    expect(Option.isSome(locked.found) && locked.deleted).toBe(true)
    expect(await repo((r) => r.delete(assets[0]!.id, { prefix, at }))).toBe(false)
    expect(await repo((r) => r.lockForDeletion(designId, assets[0]!.id))).toEqual(Option.none())
    expect(await repo((r) => r.removalsDue(at, 100))).not.toContain(prefix)
    expect(await repo((r) => r.removalsDue(new Date(at.getTime() + 1), 100))).toContain(prefix)
    await repo((r) => r.removalDone(prefix))
    expect(await repo((r) => r.removalsDue(new Date(at.getTime() + 1), 100))).not.toContain(prefix)
  })
})
