import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"
import { validDocument } from "../support/http.ts"
import { startServer } from "../support/process.ts"
import { redisTopologies, requireRedis } from "../support/redisTopology.ts"
import { freePort } from "../support/servers.ts"

/**
 * Two API processes over one PostgreSQL and one Redis (a single node, then a three-master
 * cluster), as behind a load balancer: the rate limit, sessions and caches are shared, so it
 * does not matter which instance answers.
 */
const scope = Effect.runSync(Scope.make())
const servers: Array<ReturnType<typeof startServer>> = []
const bases: Array<string> = []

const call = async (instance: number, method: string, path: string, options: { client: string; token?: string; body?: unknown } ) => {
  const headers: Record<string, string> = { "x-forwarded-for": `198.51.100.77, ${options.client}` }
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
  if (options.body !== undefined) headers["content-type"] = "application/json"
  const response = await fetch(`${bases[instance]}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
}

const signUp = async (client: string) => {
  const result = await call(0, "POST", "/api/v1/auth/register", {
    client,
    body: { email: `two-${client}-${Date.now()}@example.com`, password: "correct horse battery", fullName: "Two" }
  })
  expect(result.status).toBe(201)
  return result.body.tokens.accessToken as string
}

afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

describe.each(redisTopologies())("two API instances (Redis: $name)", (topology) => {
  beforeAll(async () => {
    const serverUrl = realDatabaseUrl()
    if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
    requireRedis(topology)
    servers.length = 0
    bases.length = 0
    const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
    for (let i = 0; i < 2; i++) {
      const port = await freePort()
      // The test plays the proxy on 127.0.0.1: its X-Forwarded-For names the client.
      const server = startServer({
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        ...(topology.redis.redisUrl === undefined ? {} : { REDIS_URL: topology.redis.redisUrl }),
        ...(topology.redis.redisClusterNodes === undefined ? {} : { REDIS_CLUSTER_NODES: topology.redis.redisClusterNodes }),
        RATE_LIMIT_PER_MINUTE: "100",
        TRUSTED_PROXIES: "127.0.0.1",
        BCRYPT_COST: "10",
        LOG_LEVEL: "Info",
        // Both start at once: the second waits on the migration lock, then finds nothing to do.
        MIGRATE_ON_START: "true"
      })
      servers.push(server)
      bases.push(`http://127.0.0.1:${port}`)
    }
    await Promise.all(servers.map((server) => server.listening))
  }, 60_000)

  afterAll(async () => {
    for (const server of servers) server.child.kill("SIGTERM")
    await Promise.all(servers.map((server) => server.exited))
  })

  it("count one rate limit per client across both (the proxy's X-Forwarded-For names the client)", async () => {
    const client = "203.0.113.10"
    for (let i = 0; i < 100; i++) {
      const result = await call(i % 2, "GET", "/api/v1/users/me", { client })
      expect(result.status, `request ${i + 1}`).toBe(401)
      expect(result.headers.get("ratelimit")).toBe(`"ip";r=${99 - i};t=${result.headers.get("ratelimit")!.split("t=")[1]}`)
    }
    for (const instance of [0, 1]) {
      const limited = await call(instance, "GET", "/api/v1/users/me", { client })
      expect(limited.status).toBe(429)
      expect(limited.body.code).toBe("rate_limited")
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
    }
    // Another client behind the same proxy has its own budget; health stays exempt.
    expect((await call(1, "GET", "/api/v1/users/me", { client: "203.0.113.11" })).status).toBe(401)
    expect((await call(0, "GET", "/health", { client })).status).toBe(200)
  })

  it("end a session on both within a second of logging out on one", async () => {
    const token = await signUp("203.0.113.20")
    expect((await call(1, "GET", "/api/v1/users/me", { client: "203.0.113.20", token })).status).toBe(200)
    expect((await call(0, "POST", "/api/v1/auth/logout", { client: "203.0.113.20", token })).status).toBe(204)
    expect((await call(0, "GET", "/api/v1/users/me", { client: "203.0.113.20", token })).status).toBe(401)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const other = await call(1, "GET", "/api/v1/users/me", { client: "203.0.113.20", token })
    expect(other.status).toBe(401)
    expect(other.body.code).toBe("session_revoked")
  })

  it("never read a design stale through one after updating it through the other", async () => {
    const client = "203.0.113.30"
    const token = await signUp(client)
    const created = await call(0, "POST", "/api/v1/designs", { client, token, body: { name: "Shared", productType: "mug", document: validDocument() } })
    expect(created.status).toBe(201)
    let version = created.body.version as number
    for (let i = 0; i < 10; i++) {
      const reader = (i + 1) % 2
      await call(reader, "GET", `/api/v1/designs/${created.body.id}`, { client, token })
      const updated = await call(i % 2, "PATCH", `/api/v1/designs/${created.body.id}`, { client, token, body: { version, name: `Shared ${i}` } })
      expect(updated.status).toBe(200)
      version = updated.body.version
      const read = await call(reader, "GET", `/api/v1/designs/${created.body.id}`, { client, token })
      expect(read.body).toMatchObject({ name: `Shared ${i}`, version })
    }
  })
})
