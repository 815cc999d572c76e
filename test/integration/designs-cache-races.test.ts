import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { makeCacheGate } from "../support/cacheGate.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, failure, ok, typedClient } from "../support/typedClient.ts"

/**
 * The race of the issue, through the API on two instances over one PostgreSQL and Redis: a
 * `GET /designs/{id}` on the first misses the cache and loads the design, then stops just before
 * it stores it (a gate in that instance's cache store); a `DELETE` (or a `PATCH`) through the
 * second commits and invalidates; the read goes on. Once the write answered, no read on either
 * instance returns the old design and no duplicate copies it.
 */
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let first: ReturnType<typeof makeTestApp>
let second: ReturnType<typeof makeTestApp>
const viaFirst = typedClient(() => first)
const viaSecond = typedClient(() => second)

/** Holds the first instance's next store of a design entry until released. */
const gate = makeCacheGate("design:")
const arm = gate.arm

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const redisUrl = realRedisUrl()
  if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  first = makeTestApp({ databaseUrl, redisUrl, overrides: gate.layer })
  second = makeTestApp({ databaseUrl, redisUrl })
}, 60_000)
afterAll(async () => {
  await first?.dispose()
  await second?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const designsUsed = (ownerId: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ used: number }>`SELECT coalesce(sum(designs_created), 0)::int AS used FROM design_usage WHERE user_id = ${ownerId}`
    return rows[0]!.used
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

const signUp = async () => {
  const registered = await ok(viaFirst().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Race" } }), 201)
  return { token: registered.tokens.accessToken, userId: registered.user.id }
}

describe("a slow read racing a write on another instance (real PostgreSQL and Redis)", () => {
  it("a delete: afterwards every read is 404 and a duplicate copies nothing", async () => {
    const { token, userId } = await signUp()
    const design = await ok(viaFirst(token).designs.create({ payload: { name: "Doomed", productType: "mug", document: validDocument() } }), 201)
    const params = { id: design.id }
    const gated = arm()
    const slowRead = attempt(viaFirst(token).designs.get({ params }))
    await gated.reached // the first instance loaded the design and is about to cache it
    await ok(viaSecond(token).designs.delete({ params }), 204)
    gated.release()
    // It began before the delete: it may answer the design, but must not have cached it.
    expect((await slowRead).status).toBe(200)
    for (const via of [viaFirst, viaSecond, viaFirst, viaSecond]) {
      expect((await failure(via(token).designs.get({ params }), "NotFound")).status).toBe(404)
      expect((await failure(via(token).designs.duplicate({ params }), "NotFound")).status).toBe(404)
    }
    expect(await designsUsed(userId)).toBe(1)
    expect((await ok(viaSecond(token).subscriptions.usage())).designsCreated).toBe(1)
  })

  it("an update: afterwards every read answers the new version", async () => {
    const { token } = await signUp()
    const design = await ok(viaFirst(token).designs.create({ payload: { name: "Before", productType: "mug", document: validDocument() } }), 201)
    const params = { id: design.id }
    const gated = arm()
    const slowRead = attempt(viaFirst(token).designs.get({ params }))
    await gated.reached
    const updated = await ok(viaSecond(token).designs.update({ params, headers: {}, payload: { version: 1, name: "After" } }), 200)
    gated.release()
    expect((await slowRead).status).toBe(200)
    for (const via of [viaFirst, viaSecond, viaFirst, viaSecond]) {
      expect(await ok(via(token).designs.get({ params }))).toMatchObject({ name: "After", version: updated.version })
    }
    const copy = await ok(viaFirst(token).designs.duplicate({ params }), 201)
    expect(copy.name).toBe("After (copy)")
  })
})
