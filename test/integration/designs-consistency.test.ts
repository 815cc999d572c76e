import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { client, uniqueEmail, validDocument } from "../support/http.ts"

const SERVICE_KEY = "s".repeat(40)
const scope = Effect.runSync(Scope.make())
let first: ReturnType<typeof makeTestApp>
let second: ReturnType<typeof makeTestApp>
const viaFirst = client(() => first)
const viaSecond = client(() => second)

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

const signUp = async () => {
  const result = await viaFirst("POST", "/api/v1/auth/register", { body: { email: uniqueEmail(), password: "correct horse battery", fullName: "C" } })
  return result.body.tokens.accessToken as string
}
const create = (call: typeof viaFirst, token: string) =>
  call("POST", "/api/v1/designs", { token, body: { name: "Race", productType: "mug", document: validDocument() } })

describe("quota under concurrency (real PostgreSQL)", () => {
  it("lets exactly the remaining quota through when three times as many creates race, on two instances", async () => {
    const token = await signUp()
    for (let i = 0; i < 4; i++) expect((await create(viaFirst, token)).status).toBe(201)
    const remaining = 10 - 4
    const results = await Promise.all(
      Array.from({ length: remaining * 3 }, (_, i) => create(i % 2 === 0 ? viaFirst : viaSecond, token))
    )
    const statuses = results.map((r) => r.status)
    expect(statuses.filter((s) => s === 201)).toHaveLength(remaining)
    expect(statuses.filter((s) => s === 402)).toHaveLength(remaining * 2)
    const usage = await viaSecond("GET", "/api/v1/subscriptions/me/usage", { token })
    expect(usage.body).toMatchObject({ designsCreated: 10, remaining: 0 })
    const list = await viaFirst("GET", "/api/v1/designs?limit=100", { token })
    expect(list.body.data).toHaveLength(10)
  })

  it("counts racing duplicates against the same quota", async () => {
    const token = await signUp()
    const original = (await create(viaFirst, token)).body
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? viaFirst : viaSecond)("POST", `/api/v1/designs/${original.id}/duplicate`, { token }))
    )
    expect(results.filter((r) => r.status === 201)).toHaveLength(9)
    expect(results.filter((r) => r.status === 402)).toHaveLength(11)
  })
})

describe("cached reads (real Redis)", () => {
  it("never serve a stale design after an update, whichever instance reads", async () => {
    const token = await signUp()
    const design = (await create(viaFirst, token)).body
    let version = design.version as number
    for (let i = 0; i < 15; i++) {
      // Warm both instances' shared cache entry, update through one, read through the other.
      await viaSecond("GET", `/api/v1/designs/${design.id}`, { token })
      const writer = i % 2 === 0 ? viaFirst : viaSecond
      const reader = i % 2 === 0 ? viaSecond : viaFirst
      const updated = await writer("PATCH", `/api/v1/designs/${design.id}`, { token, body: { version, name: `Name ${i}` } })
      expect(updated.status).toBe(200)
      version = updated.body.version
      const read = await reader("GET", `/api/v1/designs/${design.id}`, { token })
      expect(read.body).toMatchObject({ name: `Name ${i}`, version })
    }
    expect((await viaFirst("DELETE", `/api/v1/designs/${design.id}`, { token })).status).toBe(204)
    expect((await viaSecond("GET", `/api/v1/designs/${design.id}`, { token })).status).toBe(404)
  })

  it("reflect a subscription change at once on every instance", async () => {
    const token = await signUp()
    const me = await viaFirst("GET", "/api/v1/users/me", { token })
    expect((await viaSecond("GET", "/api/v1/subscriptions/me", { token })).body.plan).toBe("free")
    const changed = await viaFirst("PUT", `/api/v1/internal/subscriptions/${me.body.id}`, {
      headers: { "x-service-key": SERVICE_KEY },
      body: { plan: "pro", status: "active" }
    })
    expect(changed.status).toBe(200)
    expect((await viaSecond("GET", "/api/v1/subscriptions/me", { token })).body.plan).toBe("pro")
    expect((await viaSecond("GET", "/api/v1/subscriptions/me/quota", { token })).body.remaining).toBe(1000)
  })
})
