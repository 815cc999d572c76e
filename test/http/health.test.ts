import { Effect, Exit, Layer, Scope } from "effect"
import * as CacheStoreLayers from "../../src/capabilities/cache/CacheStore.ts"
import { CacheStore } from "../../src/capabilities/cache/CacheStore.ts"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { adminQuery, freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { sleep } from "../support/faults.ts"
import { freePort } from "../support/servers.ts"
import { ok, typedClient } from "../support/typedClient.ts"

const serverUrl = realDatabaseUrl()
const redisUrl = realRedisUrl()
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let databaseName: string

beforeAll(async () => {
  if (serverUrl === undefined) throw new Error("these tests need a real PostgreSQL (see test/support/globalSetup.ts)")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  databaseName = new URL(databaseUrl).pathname.slice(1)
})
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

/** Healthy (200) and unhealthy (503) are both declared answers: the typed client decodes either. */
const getHealth = async (app: ReturnType<typeof makeTestApp>) => {
  const [body, response] = await ok(typedClient(() => app)().health({ responseMode: "decoded-and-response" }))
  return { status: response.status, body }
}

describe("GET /health", () => {
  it("answers a flood from one check a second: 200 calls at once probe the servers once", async () => {
    let pings = 0
    const counting = Layer.effect(CacheStore, Effect.map(Effect.service(CacheStore), (store) =>
      CacheStore.of({ ...store, ping: Effect.andThen(Effect.sync(() => pings++), store.ping) }))).pipe(
      Layer.provide(CacheStoreLayers.layerMemory)
    )
    const app = makeTestApp({ databaseUrl, overrides: counting })
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, () => getHealth(app)))
      expect(answers.every((answer) => answer.status === 200)).toBe(true)
      expect(pings).toBe(1)
      await sleep(1_100)
      await getHealth(app)
      expect(pings).toBe(2)
    } finally {
      await app.dispose()
    }
  })

  it("is healthy with both real servers connected", async () => {
    const app = makeTestApp({ databaseUrl, redisUrl })
    try {
      expect(await getHealth(app)).toEqual({
        status: 200,
        body: { status: "healthy", database: "connected", redis: "connected" }
      })
    } finally {
      await app.dispose()
    }
  })

  it("is degraded (still 200) when Redis is unreachable, and answers within the timeout", async () => {
    const closedPort = await freePort()
    const app = makeTestApp({ databaseUrl, redisUrl: `redis://127.0.0.1:${closedPort}/0` })
    try {
      const started = performance.now()
      const health = await getHealth(app)
      expect(health).toEqual({ status: 200, body: { status: "degraded", database: "connected", redis: "unreachable" } })
      expect(performance.now() - started).toBeLessThan(5_000)
    } finally {
      await app.dispose()
    }
  })

  it("is unhealthy (503) while the database refuses connections, and recovers without a restart", async () => {
    const app = makeTestApp({ databaseUrl, redisUrl })
    try {
      expect((await getHealth(app)).status).toBe(200)
      await Effect.runPromise(adminQuery(serverUrl!, `ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS false`))
      await Effect.runPromise(adminQuery(
        serverUrl!,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${databaseName}'`
      ))
      // Answers are shared for a second: the next fresh one tells the outage.
      await sleep(1_100)
      expect(await getHealth(app)).toEqual({
        status: 503,
        body: { status: "unhealthy", database: "unreachable", redis: "connected" }
      })
      await Effect.runPromise(adminQuery(serverUrl!, `ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`))
      await sleep(1_100)
      expect((await getHealth(app)).body).toEqual({ status: "healthy", database: "connected", redis: "connected" })
    } finally {
      await Effect.runPromise(adminQuery(serverUrl!, `ALTER DATABASE ${databaseName} ALLOW_CONNECTIONS true`))
      await app.dispose()
    }
  })

  it("says embedded for both on embedded defaults", async () => {
    const app = makeTestApp({})
    try {
      expect(await getHealth(app)).toEqual({
        status: 200,
        body: { status: "healthy", database: "embedded", redis: "embedded" }
      })
    } finally {
      await app.dispose()
    }
  })
})
