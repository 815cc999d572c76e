import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"
import { type ControllableRedis, httpCall, logLines, sleep, startControllableRedis, waitFor } from "../support/faults.ts"
import { validDocument } from "../support/http.ts"
import { startServer } from "../support/process.ts"
import { findRedisServer, freePort } from "../support/servers.ts"

/**
 * Redis dies under load and comes back empty: the API keeps answering (sessions are read from
 * PostgreSQL, the rate limit counts in memory, caches read through), reports itself degraded,
 * stays strict about revocations, and reconnects on its own once Redis is back, without a
 * restart; losing Redis's data signs nobody out. Failed sign-ins are still counted (in PostgreSQL).
 */
const scope = Effect.runSync(Scope.make())
let redis: ControllableRedis
let server: ReturnType<typeof startServer>
let base: string

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const binary = findRedisServer()
  if (serverUrl === undefined || binary === undefined) throw new Error("needs real PostgreSQL and a redis-server binary")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  redis = await startControllableRedis(binary)
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = startServer({
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    RATE_LIMIT_PER_MINUTE: "1000000", // on (counted in memory during the outage), never reached by the loop
    BCRYPT_COST: "10",
    WORKER_IN_PROCESS: "false"
  })
  await server.listening
}, 60_000)

afterAll(async () => {
  server?.child.kill("SIGKILL")
  await server?.exited
  await redis?.stop()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const signInFully = async (email: string) => {
  const login = await httpCall(base, "POST", "/api/v1/auth/login", { body: { email, password: "correct horse battery" } })
  expect(login.status).toBe(200)
  return login.body.tokens as { accessToken: string; refreshToken: string }
}
const signIn = async (email: string) => (await signInFully(email)).accessToken
const meStatus = async (token: string) => (await httpCall(base, "GET", "/api/v1/users/me", { token, timeoutMs: 10_000 })).status

describe("a Redis outage", () => {
  it("keeps every request answering 200, reports degraded, and recovers without a restart", async () => {
    const email = `redis-outage-${Date.now()}@example.com`
    const registered = await httpCall(base, "POST", "/api/v1/auth/register", {
      body: { email, password: "correct horse battery", fullName: "Redis Outage" }
    })
    expect(registered.status).toBe(201)
    const token = await signIn(email)
    // Ended before the outage: must stay ended through it and after it.
    const endedBefore = await signIn(email)
    expect((await httpCall(base, "POST", "/api/v1/auth/logout", { token: endedBefore })).status).toBe(204)
    expect(await meStatus(endedBefore)).toBe(401)
    const endedDuring = await signInFully(email)
    const design = await httpCall(base, "POST", "/api/v1/designs", {
      token,
      body: { name: "Outage", productType: "mug", document: validDocument() }
    })
    expect(design.status).toBe(201)
    expect((await httpCall(base, "GET", "/health")).body).toEqual({ status: "healthy", database: "connected", redis: "connected" })

    // A steady stream of authenticated reads, before, during and after the kill.
    const failures: Array<string> = []
    const slowest = { millis: 0 }
    let sent = 0
    let running = true
    const loop = (async () => {
      const paths = ["/api/v1/users/me", `/api/v1/designs/${design.body.id}`, "/api/v1/designs?limit=10"]
      while (running) {
        for (const path of paths) {
          const result = await httpCall(base, "GET", path, { token, timeoutMs: 10_000 }).catch((error: unknown) => ({
            status: -1,
            body: String(error),
            millis: 0
          }))
          sent++
          slowest.millis = Math.max(slowest.millis, result.millis)
          if (result.status !== 200) failures.push(`${path}: ${result.status} ${JSON.stringify(result.body)}`)
        }
      }
    })()

    await sleep(500)
    const beforeKill = sent
    await redis.kill()
    const killedAt = sent
    await sleep(3_000)

    const degraded = await httpCall(base, "GET", "/health")
    expect(degraded.status).toBe(200)
    expect(degraded.body).toEqual({ status: "degraded", database: "connected", redis: "unreachable" })
    expect(degraded.millis).toBeLessThan(3_000)
    // Revocation stays strict: a session ended before the outage is refused, one ended during it
    // ends at once; its refresh token is refused too.
    expect(await meStatus(endedBefore)).toBe(401)
    expect(await meStatus(endedDuring.accessToken)).toBe(200)
    expect((await httpCall(base, "POST", "/api/v1/auth/logout", { token: endedDuring.accessToken, timeoutMs: 10_000 })).status).toBe(204)
    expect(await meStatus(endedDuring.accessToken)).toBe(401)
    const refreshEnded = await httpCall(base, "POST", "/api/v1/auth/refresh", { body: { refreshToken: endedDuring.refreshToken } })
    expect(refreshEnded.status).toBe(401)
    // Signing in and refreshing work without Redis; a wrong password is refused as ever (and
    // counted), so the answers tell nothing more than they do with Redis up.
    const during = await signInFully(email)
    expect(await meStatus(during.accessToken)).toBe(200)
    const rotated = await httpCall(base, "POST", "/api/v1/auth/refresh", { body: { refreshToken: during.refreshToken } })
    expect(rotated.status).toBe(200)
    const wrong = await httpCall(base, "POST", "/api/v1/auth/login", { body: { email, password: "wrong horse battery" } })
    expect(wrong.status).toBe(401)
    const duringOutage = sent - killedAt
    running = false
    await loop

    // Nothing persisted: the restarted Redis is empty.
    await redis.restart()
    const restartedAt = performance.now()
    await waitFor("/health healthy again", 10_000, async () => {
      const health = await httpCall(base, "GET", "/health")
      return health.status === 200 && health.body.status === "healthy" ? true : undefined
    })
    const recoveredIn = performance.now() - restartedAt

    expect(failures).toEqual([])
    expect(beforeKill).toBeGreaterThan(0)
    expect(duringOutage).toBeGreaterThan(10)
    expect(slowest.millis).toBeLessThan(5_000)
    expect(recoveredIn).toBeLessThan(5_000)

    // An empty Redis signs nobody out, and revives no ended session.
    expect(await meStatus(token)).toBe(200)
    expect(await meStatus(rotated.body.tokens.accessToken)).toBe(200)
    expect(await meStatus(endedBefore)).toBe(401)
    expect(await meStatus(endedDuring.accessToken)).toBe(401)

    // Sign in again; logout works and sticks.
    const fresh = await signIn(email)
    expect((await httpCall(base, "GET", "/api/v1/users/me", { token: fresh })).status).toBe(200)
    expect((await httpCall(base, "POST", "/api/v1/auth/logout", { token: fresh })).status).toBe(204)
    const after = await httpCall(base, "GET", "/api/v1/users/me", { token: fresh })
    expect(after.status).toBe(401)

    // The same process throughout: it logged the loss and the reconnection.
    expect(server.child.exitCode).toBeNull()
    const messages = logLines(server.output().stdout).map((line) => String(line["message"]))
    expect(messages.some((message) => message.startsWith("redis: connection to") && message.includes("lost"))).toBe(true)
    expect(messages.some((message) => message.startsWith("redis: reconnected to"))).toBe(true)
  }, 60_000)
})

describe("sign-in during a Redis outage", () => {
  // Counting used to live in Redis and stopped with it: unlimited guesses, each told apart
  // (wrong 401, right 503). Attempts are now counted in PostgreSQL, before the password is checked.
  it("still counts failed attempts: 10 wrong passwords answer 401, the 11th attempt 429 even with the right password", async () => {
    const email = `redis-outage-throttle-${Date.now()}@example.com`
    const registered = await httpCall(base, "POST", "/api/v1/auth/register", {
      body: { email, password: "correct horse battery", fullName: "Throttled" }
    })
    expect(registered.status).toBe(201)
    await redis.kill()
    try {
      await waitFor("/health degraded", 10_000, async () => (await httpCall(base, "GET", "/health")).body?.redis === "unreachable" ? true : undefined)
      const login = (password: string) => httpCall(base, "POST", "/api/v1/auth/login", { body: { email, password }, timeoutMs: 10_000 })
      for (let i = 0; i < 10; i++) {
        const wrong = await login(`wrong password ${i}`)
        expect(wrong.status, JSON.stringify(wrong.body)).toBe(401)
      }
      for (const password of ["correct horse battery", "wrong password 10"]) {
        const locked = await login(password)
        expect(locked.status, JSON.stringify(locked.body)).toBe(429)
        expect(locked.body).toMatchObject({ code: "too_many_attempts" })
        expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(800)
      }
    } finally {
      await redis.restart()
    }
  }, 60_000)
})
