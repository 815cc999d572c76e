import { Context, Deferred, Effect, Exit, Fiber, Layer, Redacted } from "effect"
import { PgClient } from "@effect/sql-pg"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { completedUpload as upload, sharedApps } from "../support/sharedApps.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * Never a layer pointing at a deleted upload: a design update adding an image layer races the
 * deletion of that upload, on two instances sharing PostgreSQL and Redis, many rounds over; and
 * the two interleavings forced statement by statement on two connections.
 */
const apps = sharedApps(2)
beforeAll(apps.start, 60_000)
afterAll(apps.stop)
const a = typedClient(() => apps.app(0))
const b = typedClient(() => apps.app(1))

const imageDocument = (assetId: string): DesignDocument => ({
  ...validDocument(),
  layers: [{ id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId }]
})

const signUp = async () =>
  (await ok(a().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "R" } }), 201)).tokens.accessToken

const completedUpload = async (token: string, designId: string) => (await upload(a(token), apps.app(0), designId)).assetId

/** A connection of its own (the pool of one test app would queue the interleaved statements). */
const connection = () => PgClient.layer({ url: Redacted.make(apps.databaseUrl()), maxConnections: 1 })

const query = <A>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.flatMap(Effect.service(SqlClient.SqlClient), statement).pipe(Effect.provide(connection())) as Effect.Effect<A>)

/** Designs whose document shows an upload that does not exist (must always be none). */
const danglingLayers = () =>
  query((sql) =>
    sql<{ id: string }>`
      SELECT d.id FROM designs d, jsonb_array_elements(d.document->'layers') AS layer
      WHERE layer->>'type' = 'image'
        AND NOT EXISTS (SELECT 1 FROM assets WHERE id = (layer->>'assetId')::uuid)`)

describe("deleting an upload while an update adds it to a layer", () => {
  it("on two instances, 20 rounds: the update wins (409) or the deletion does (400); never both", async () => {
    const token = await signUp()
    const design = await ok(a(token).designs.create({ payload: { name: "Race", productType: "mug", document: validDocument() } }), 201)
    // The uploads live under another design of the owner (a layer may show any of the owner's).
    const host = await ok(a(token).designs.create({ payload: { name: "Host", productType: "mug", document: validDocument() } }), 201)
    let version = design.version
    const seen = new Set<string>()
    for (let round = 0; round < 20; round++) {
      const assetId = await completedUpload(token, host.id)
      const [patch, deletion] = await Promise.all([
        attempt((round % 2 === 0 ? a : b)(token).designs.update({
          params: { id: design.id },
          headers: {},
          payload: { version, document: imageDocument(assetId) }
        })),
        attempt((round % 2 === 0 ? b : a)(token).assets.delete({ params: { id: host.id, assetId: assetId as never } }))
      ])
      const outcome = `${patch.status}/${deletion.status}`
      seen.add(outcome)
      expect(["200/409", "400/204"], `round ${round}: ${patch.response?.text} ${deletion.response?.text}`).toContain(outcome)
      if (patch._tag === "Success") version = patch.value.version
      // Put the design back to a document without images for the next round.
      if (patch._tag === "Success") {
        version = (await ok(a(token).designs.update({ params: { id: design.id }, headers: {}, payload: { version, document: validDocument() } }))).version
      }
      expect(await danglingLayers()).toEqual([])
    }
    // (Which side wins depends on timing; both orders are allowed, only these two outcomes.)
    expect(seen.size).toBeGreaterThanOrEqual(1)
  }, 120_000)
})

describe("the two interleavings, forced on two connections", () => {
  const seed = async () => {
    const token = await signUp()
    const design = await ok(a(token).designs.create({ payload: { name: "Forced", productType: "mug", document: validDocument() } }), 201)
    const assetId = await completedUpload(token, design.id)
    return { design, assetId, token }
  }

  /** Runs `first` in a transaction left open until `second` has been started and has had time to block. */
  const interleave = <A, B>(
    first: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>,
    second: (sql: SqlClient.SqlClient) => Effect.Effect<B, unknown>
  ) =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const one = yield* Layer.build(connection())
      const two = yield* Layer.build(connection())
      const sqlOne = Context.get(one, SqlClient.SqlClient)
      const sqlTwo = Context.get(two, SqlClient.SqlClient)
      const firstDone = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const firstFiber = yield* Effect.forkChild(sqlOne.withTransaction(Effect.gen(function*() {
        const result = yield* first(sqlOne)
        yield* Deferred.succeed(firstDone, undefined)
        yield* Deferred.await(release)
        return result
      })))
      yield* Deferred.await(firstDone)
      const secondFiber = yield* Effect.forkChild(Effect.exit(second(sqlTwo)))
      yield* Effect.sleep("300 millis")
      const blocked = secondFiber.pollUnsafe() === undefined
      yield* Deferred.succeed(release, undefined)
      const firstResult = yield* Fiber.join(firstFiber)
      const secondResult = yield* Fiber.join(secondFiber)
      return { blocked, firstResult, secondResult }
    })) as Effect.Effect<{ blocked: boolean; firstResult: A; secondResult: Exit.Exit<B, unknown> }>)

  it("the deletion locks first: the update waits, then fails as designs_layer_asset_fkey", async () => {
    const { assetId, design } = await seed()
    const result = await interleave(
      (sql) => sql`DELETE FROM assets WHERE id = ${assetId} RETURNING id`,
      (sql) => sql`UPDATE designs SET document = ${JSON.stringify(imageDocument(assetId))}::jsonb WHERE id = ${design.id} RETURNING id`
    )
    expect(result.blocked).toBe(true)
    expect(result.firstResult).toHaveLength(1)
    expect(Exit.isFailure(result.secondResult)).toBe(true)
    expect(JSON.stringify(result.secondResult)).toContain("designs_layer_asset_fkey")
  })

  it("the update writes first: the deletion's lock waits, then it sees the layer (409 through the API)", async () => {
    const { assetId, design, token } = await seed()
    const result = await interleave(
      (sql) => sql`UPDATE designs SET document = ${JSON.stringify(imageDocument(assetId))}::jsonb WHERE id = ${design.id} RETURNING id`,
      (sql) => sql`SELECT id FROM assets WHERE id = ${assetId} FOR UPDATE`
    )
    expect(result.blocked).toBe(true)
    expect(Exit.isSuccess(result.secondResult)).toBe(true)
    const deletion = await attempt(a(token).assets.delete({ params: { id: design.id, assetId: assetId as never } }))
    expect(deletion.status).toBe(409)
    expect(await danglingLayers()).toEqual([])
  })
})
