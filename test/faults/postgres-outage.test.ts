import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { realRedisUrl } from "../support/database.ts"
import { httpCall, waitFor } from "../support/faults.ts"
import { startServer } from "../support/process.ts"
import { findPostgresBin, freePort, type RunningServer, startPostgres } from "../support/servers.ts"

/**
 * PostgreSQL stops under a running API and comes back: requests that need it answer a prompt 503
 * problem with Retry-After (never a hang, never a 500), /health says unhealthy, and the pool
 * reconnects on its own once the database is back, without restarting the API.
 */
const REQUEST_TIMEOUT_MS = 5_000
let postgres: RunningServer
let server: ReturnType<typeof startServer>
let base: string

beforeAll(async () => {
  const bin = findPostgresBin()
  const redisUrl = realRedisUrl()
  if (bin === undefined || redisUrl === undefined) throw new Error("needs PostgreSQL binaries and a real Redis")
  postgres = await startPostgres(bin)
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = startServer({
    PORT: String(port),
    DATABASE_URL: postgres.url,
    REDIS_URL: redisUrl,
    RATE_LIMIT_PER_MINUTE: "1000",
    BCRYPT_COST: "10",
    WORKER_IN_PROCESS: "false",
    REQUEST_TIMEOUT: `${REQUEST_TIMEOUT_MS / 1000} seconds`
  })
  await server.listening
}, 60_000)

afterAll(async () => {
  server?.child.kill("SIGKILL")
  await server?.exited
  postgres?.stop()
})

const expectOutageProblem = (result: Awaited<ReturnType<typeof httpCall>>, what: string) => {
  expect(result.status, `${what}: ${JSON.stringify(result.body)}`).toBe(503)
  expect(result.headers.get("content-type")).toContain("application/problem+json")
  expect(Number(result.headers.get("retry-after"))).toBeGreaterThan(0)
  // A refused connection is recognised as an outage (not left to run into the request timeout).
  expect(result.body).toMatchObject({ status: 503, code: "service_unavailable" })
  // Bounded well under the default 30 s: at most the configured request timeout, plus slack.
  expect(result.millis, `${what} took ${Math.round(result.millis)} ms`).toBeLessThan(REQUEST_TIMEOUT_MS + 1_500)
}

const newDesign = {
  name: "After the outage",
  productType: "mug",
  document: { canvas: { width: 800, height: 600, unit: "px", dpi: 300, background: "#ffffff" }, layers: [] }
}

describe("a PostgreSQL outage", () => {
  it("answers 503 with Retry-After promptly, reports unhealthy, and recovers without a restart", async () => {
    const registered = await httpCall(base, "POST", "/api/v1/auth/register", {
      body: { email: `pg-outage-${Date.now()}@example.com`, password: "correct horse battery", fullName: "PG Outage" }
    })
    expect(registered.status).toBe(201)
    const token = registered.body.tokens.accessToken as string
    // Warm the pool: several connections open before the outage.
    const warm = await Promise.all(Array.from({ length: 6 }, () => httpCall(base, "GET", "/api/v1/designs", { token })))
    expect(warm.map((result) => result.status)).toEqual(Array(6).fill(200))

    postgres.pause!()
    try {
      // One request, then a burst larger than the pool (10): each answers on its own, promptly.
      expectOutageProblem(await httpCall(base, "GET", "/api/v1/designs", { token, timeoutMs: 40_000 }), "first request")
      const burst = await Promise.all(
        Array.from({ length: 15 }, () => httpCall(base, "GET", "/api/v1/designs", { token, timeoutMs: 40_000 }))
      )
      burst.forEach((result, i) => expectOutageProblem(result, `burst request ${i}`))
      // The first create of this process: the product catalogue cannot load either. Its failure
      // must not be remembered (it was cached for 5 minutes: creates answered 503 after recovery).
      expectOutageProblem(await httpCall(base, "POST", "/api/v1/designs", { token, body: newDesign, timeoutMs: 40_000 }), "a create")

      const health = await httpCall(base, "GET", "/health", { timeoutMs: 10_000 })
      expect(health.status).toBe(503)
      expect(health.body).toEqual({ status: "unhealthy", database: "unreachable", redis: "connected" })
      expect(health.millis).toBeLessThan(2_000)
    } finally {
      postgres.resume!()
    }

    const resumedAt = performance.now()
    await waitFor("GET /api/v1/designs to succeed again", 15_000, async () =>
      (await httpCall(base, "GET", "/api/v1/designs", { token, timeoutMs: 10_000 })).status === 200 ? true : undefined)
    const recoveredIn = performance.now() - resumedAt
    expect(recoveredIn).toBeLessThan(10_000)

    // Fully back: concurrent reads and a write, on the same process.
    const after = await Promise.all(Array.from({ length: 12 }, () => httpCall(base, "GET", "/api/v1/designs", { token })))
    expect(after.map((result) => result.status)).toEqual(Array(12).fill(200))
    // /health shares one answer a second: the next fresh one says healthy.
    await waitFor("/health healthy again", 3_000, async () =>
      (await httpCall(base, "GET", "/health")).body?.status === "healthy" ? true : undefined)
    expect((await httpCall(base, "GET", "/health")).body).toEqual({ status: "healthy", database: "connected", redis: "connected" })
    const created = await httpCall(base, "POST", "/api/v1/designs", { token, body: newDesign })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    expect(server.child.exitCode).toBeNull()
  }, 60_000)
})
