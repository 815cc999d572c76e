import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Exit, Layer, Logger, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, expect, it } from "vitest"
import * as Database from "../../src/capabilities/database/Database.ts"
import * as Transactions from "../../src/capabilities/database/Transactions.ts"
import * as Storage from "../../src/capabilities/storage/Storage.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import * as StorageConfig from "../../src/config/StorageConfig.ts"
import type { AssetId } from "../../src/domain/Asset.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import { PENDING_UPLOAD_GRACE } from "../../src/features/assets/Assets.ts"
import * as AssetsRepository from "../../src/features/assets/AssetsRepository.ts"
import * as Assets from "../../src/features/assets/Feature.ts"
import * as Housekeeping from "../../src/features/jobs/Housekeeping.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { failsWithProblem, ok, typedClient } from "../support/typedClient.ts"

/**
 * The worker's housekeeping removes pending uploads whose URL expired more than the grace ago,
 * row and stored object, on real PostgreSQL and the local store, and leaves completed uploads
 * and pending ones still within their URL's life and the grace.
 */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)
const scope = Effect.runSync(Scope.make())
const dataDir = mkdtempSync(join(tmpdir(), "customify-sweep-"))
const storageSettings = { publicBaseUrl: "http://test", pendingUploadsPerUser: 4 }
let databaseUrl: string
let app: ReturnType<typeof makeTestApp>
const api = typedClient(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config: { dataDir }, storage: storageSettings })
}, 60_000)
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(dataDir, { recursive: true, force: true })
})

/** What the worker runs the assets feature's housekeeping on: the same database and files as the app. */
const workerLayer = () => {
  const config = AppConfig.layerTest({ dataDir, databaseUrl: Option.some(Redacted.make(databaseUrl)), migrateOnStart: false })
  return Layer.mergeAll(AssetsRepository.layerSql, Transactions.layerSql, Storage.layerFromConfig).pipe(
    Layer.provideMerge(Layer.mergeAll(Database.layer.pipe(Layer.provide(config)), config, StorageConfig.layerTest(storageSettings)))
  )
}
const inWorker = <A, E>(effect: Effect.Effect<A, E, any>) =>
  Effect.runPromise(Effect.scoped(effect.pipe(Effect.provide(workerLayer()), Effect.provide(Logger.layer([])))) as Effect.Effect<A, E>)
const query = <A extends object>(statement: string, parameters: ReadonlyArray<unknown> = []) =>
  inWorker(Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) => sql.unsafe<A>(statement, parameters)))
/** Whether storage holds the asset's object. */
const stored = (key: string) =>
  inWorker(Effect.flatMap(Effect.service(Storage.Storage), (storage) => storage.head(key))).then(Option.isSome)

it("removes expired pending uploads with their objects; completed and fresh pending ones stay", async () => {
  const token = (await ok(api().auth.register({
    payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Sweep" }
  }), 201)).tokens.accessToken
  const design = await ok(api(token).designs.create({ payload: { name: "Sweep", productType: "mug", document: validDocument() } }), 201)
  const params = (assetId: AssetId) => ({ id: design.id as DesignId, assetId })
  const upload = async (name: string, put: boolean) => {
    const grant = await ok(api(token).assets.requestUpload({
      params: { id: design.id },
      payload: { fileName: `${name}.png`, contentType: "image/png", byteSize: PNG.length }
    }), 201)
    if (put) {
      const response = await app.handler(new Request(grant.uploadUrl, { method: "PUT", headers: grant.headers, body: PNG }))
      expect(response.status).toBe(200)
    }
    const [row] = await query<{ key: string }>("SELECT key FROM assets WHERE id = $1", [grant.assetId])
    return { id: grant.assetId, key: row!.key }
  }
  const completed = await upload("completed", true)
  await ok(api(token).assets.complete({ params: params(completed.id) }), 200)
  const expiredWithObject = await upload("expired-with-object", true)
  const expiredWithout = await upload("expired-without-object", false)
  const justInGrace = await upload("just-in-grace", true)
  const fresh = await upload("fresh", true)
  // The pending-upload limit (4) is reached: nothing more until the expired ones go.
  await failsWithProblem(
    api(token).assets.requestUpload({ params: { id: design.id }, payload: { fileName: "more.png", contentType: "image/png", byteSize: PNG.length } }),
    "UploadLimitReached",
    409,
    "too_many_pending_uploads"
  )

  // UPLOAD_URL_TTL (15 minutes) plus the grace, a minute either side of it; the completed one older still.
  const limitMinutes = 15 + Duration.toMinutes(PENDING_UPLOAD_GRACE)
  const backdate = (id: string, minutes: number) =>
    query(`UPDATE assets SET created_at = now() - make_interval(mins => $2) WHERE id = $1`, [id, minutes])
  await backdate(completed.id, limitMinutes + 600)
  await backdate(expiredWithObject.id, limitMinutes + 1)
  await backdate(expiredWithout.id, limitMinutes + 120)
  await backdate(justInGrace.id, limitMinutes - 1)

  await inWorker(Housekeeping.runOnce(Assets.housekeeping))

  const left = await query<{ id: string; status: string }>("SELECT id, status FROM assets ORDER BY created_at")
  expect(left).toEqual([
    { id: completed.id, status: "complete" },
    { id: justInGrace.id, status: "pending" },
    { id: fresh.id, status: "pending" }
  ])
  expect(await stored(expiredWithObject.key)).toBe(false)
  expect(await stored(completed.key)).toBe(true)
  expect(await stored(justInGrace.key)).toBe(true)
  expect(await stored(fresh.key)).toBe(true)

  // Gone for the client too: completing the removed upload is a 404, and there is room again.
  await failsWithProblem(api(token).assets.complete({ params: params(expiredWithObject.id) }), "NotFound", 404, "not_found")
  await ok(api(token).assets.requestUpload({
    params: { id: design.id },
    payload: { fileName: "more.png", contentType: "image/png", byteSize: PNG.length }
  }), 201)

  // Idempotent: another round (another worker) removes nothing more and fails nothing.
  await inWorker(Housekeeping.runOnce(Assets.housekeeping))
  expect((await query<{ n: number }>("SELECT count(*)::int AS n FROM assets"))[0]!.n).toBe(4)
  expect(await stored(completed.key)).toBe(true)
})

it("an object the store cannot delete keeps its row for the next round", async () => {
  const token = (await ok(api().auth.register({
    payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Sweep" }
  }), 201)).tokens.accessToken
  const design = await ok(api(token).designs.create({ payload: { name: "Sweep", productType: "mug", document: validDocument() } }), 201)
  const grant = await ok(api(token).assets.requestUpload({
    params: { id: design.id },
    payload: { fileName: "stuck.png", contentType: "image/png", byteSize: PNG.length }
  }), 201)
  await query("UPDATE assets SET created_at = now() - interval '3 hours' WHERE id = $1", [grant.assetId])
  const failingStorage = Layer.succeed(Storage.Storage, Storage.Storage.of({
    kind: "memory",
    description: "failing",
    presignUpload: () => Effect.die("unused"),
    head: () => Effect.die("unused"),
    presignDownload: () => Effect.die("unused"),
    deletePrefix: () => Effect.fail(new Storage.StorageUnavailable({ operation: "deletePrefix", cause: "down" }))
  }))
  const exit = await Effect.runPromise(Effect.exit(Effect.scoped(
    Assets.housekeeping[0].run.pipe(Effect.provide(failingStorage), Effect.provide(workerLayer()), Effect.provide(Logger.layer([])))
  )))
  expect(Exit.isFailure(exit)).toBe(true)
  expect((await query("SELECT id FROM assets WHERE id = $1", [grant.assetId])).length).toBe(1)
  await inWorker(Housekeeping.runOnce(Assets.housekeeping))
  expect((await query("SELECT id FROM assets WHERE id = $1", [grant.assetId])).length).toBe(0)
})
