import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, failure, ok, typedClient } from "../support/typedClient.ts"

const SERVICE_KEY = "s".repeat(40)
const scope = Effect.runSync(Scope.make())
let first: ReturnType<typeof makeTestApp>
let second: ReturnType<typeof makeTestApp>
const viaFirst = typedClient(() => first)
const viaSecond = typedClient(() => second)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const redisUrl = realRedisUrl()
  if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  // Two API instances over the same PostgreSQL and Redis, as behind a load balancer.
  const config = { databasePoolMax: 10, serviceApiKeys: [Redacted.make(SERVICE_KEY)] }
  first = makeTestApp({ databaseUrl, redisUrl, config })
  second = makeTestApp({ databaseUrl, redisUrl, config })
})
afterAll(async () => {
  await first?.dispose()
  await second?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const signUp = async () =>
  (await ok(viaFirst().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "C" } }))).tokens.accessToken
const create = (via: typeof viaFirst, token: string) =>
  via(token).designs.create({ payload: { name: "Race", productType: "mug", document: validDocument() } })

describe("quota under concurrency (real PostgreSQL)", () => {
  it("lets exactly the remaining quota through when three times as many creates race, on two instances", async () => {
    const token = await signUp()
    for (let i = 0; i < 4; i++) await ok(create(viaFirst, token), 201)
    const remaining = 10 - 4
    const results = await Promise.all(
      Array.from({ length: remaining * 3 }, (_, i) => attempt(create(i % 2 === 0 ? viaFirst : viaSecond, token)))
    )
    const statuses = results.map((r) => r.status)
    expect(statuses.filter((s) => s === 201)).toHaveLength(remaining)
    expect(statuses.filter((s) => s === 402)).toHaveLength(remaining * 2)
    const usage = await ok(viaSecond(token).subscriptions.usage())
    expect(usage).toMatchObject({ designsCreated: 10, remaining: 0 })
    const list = await ok(viaFirst(token).designs.list({ query: { limit: 100 } }))
    expect(list.data).toHaveLength(10)
  })

  it("counts racing duplicates against the same quota", async () => {
    const token = await signUp()
    const original = await ok(create(viaFirst, token))
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => attempt((i % 2 === 0 ? viaFirst : viaSecond)(token).designs.duplicate({ params: { id: original.id } })))
    )
    expect(results.filter((r) => r.status === 201)).toHaveLength(9)
    expect(results.filter((r) => r.status === 402)).toHaveLength(11)
  })
})

describe("deletes under concurrency (real PostgreSQL)", () => {
  it("of two deletes of one design at once, on two instances, exactly one answers 204 and the other 404", async () => {
    const token = await signUp()
    for (let i = 0; i < 8; i++) {
      const design = await ok(create(viaFirst, token))
      const params = { id: design.id }
      const results = await Promise.all([attempt(viaFirst(token).designs.delete({ params })), attempt(viaSecond(token).designs.delete({ params }))])
      expect(results.map((r) => r.status).sort()).toEqual([204, 404])
    }
  })
})

describe("cached reads (real Redis)", () => {
  it("never serve a stale design after an update, whichever instance reads", async () => {
    const token = await signUp()
    const design = await ok(create(viaFirst, token))
    const params = { id: design.id }
    let version = design.version
    for (let i = 0; i < 15; i++) {
      // Warm both instances' shared cache entry, update through one, read through the other.
      await attempt(viaSecond(token).designs.get({ params }))
      const writer = (i % 2 === 0 ? viaFirst : viaSecond)(token).designs
      const reader = (i % 2 === 0 ? viaSecond : viaFirst)(token).designs
      const updated = await ok(writer.update({ params, headers: {}, payload: { version, name: `Name ${i}` } }), 200)
      version = updated.version
      const read = await ok(reader.get({ params }))
      expect(read).toMatchObject({ name: `Name ${i}`, version })
    }
    await ok(viaFirst(token).designs.delete({ params }), 204)
    expect((await failure(viaSecond(token).designs.get({ params }), "NotFound")).status).toBe(404)
  })

  it("reflect a subscription change at once on every instance", async () => {
    const token = await signUp()
    const me = await ok(viaFirst(token).me.get())
    expect((await ok(viaSecond(token).subscriptions.get())).plan).toBe("free")
    await ok(viaFirst({ serviceKey: SERVICE_KEY }).internal.setSubscription({ params: { userId: me.id }, payload: { plan: "pro", status: "active" } }), 200)
    expect((await ok(viaSecond(token).subscriptions.get())).plan).toBe("pro")
    expect((await ok(viaSecond(token).subscriptions.quota())).remaining).toBe(1000)
  })
})
