import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, ManagedRuntime, Redacted, Scope, String } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Database from "../../src/capabilities/database/Database.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import * as LoginThrottle from "../../src/features/auth/LoginThrottle.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail } from "../support/http.ts"
import { freePort } from "../support/servers.ts"
import { attempt, failureAndResponse, ok, typedClient } from "../support/typedClient.ts"

/**
 * Sign-in throttling on real PostgreSQL: the statements that count attempts, clear them and
 * prune them, under concurrency, on two API instances at once, and when the database is gone.
 */
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let first: ReturnType<typeof makeTestApp>
let second: ReturnType<typeof makeTestApp>
const viaFirst = typedClient(() => first)
const viaSecond = typedClient(() => second)

/** The throttle's SQL layer as the server builds it: same column name translation, test settings. */
const throttleOver = (url: string) =>
  LoginThrottle.layerSql.pipe(
    Layer.provideMerge(PgClient.layer({
      url: Redacted.make(url),
      transformQueryNames: String.camelToSnake,
      transformResultNames: String.snakeToCamel,
      maxConnections: 10
    })),
    Layer.provide(AppConfig.layerTest())
  )
let runtime: ManagedRuntime.ManagedRuntime<LoginThrottle.LoginThrottle | PgClient.PgClient | SqlClient.SqlClient, unknown>

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const redisUrl = realRedisUrl()
  if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  runtime = ManagedRuntime.make(throttleOver(databaseUrl))
  await runtime.runPromise(Database.migrate)
  // Two API instances over the same PostgreSQL and Redis, as behind a load balancer.
  first = makeTestApp({ databaseUrl, redisUrl })
  second = makeTestApp({ databaseUrl, redisUrl })
})
afterAll(async () => {
  await runtime?.dispose()
  await first?.dispose()
  await second?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const run = <A, E>(effect: Effect.Effect<A, E, LoginThrottle.LoginThrottle | PgClient.PgClient | SqlClient.SqlClient>) =>
  runtime.runPromise(effect)
const sql = <A extends object>(statement: string) =>
  run(Effect.flatMap(Effect.service(SqlClient.SqlClient), (client) => client.unsafe<A>(statement)))

/** The attempt's outcome: "counted", or the refusal's tag and Retry-After. */
const tryLogin = (email: string, ip: string) =>
  run(Effect.flatMap(Effect.service(LoginThrottle.LoginThrottle), (throttle) => throttle.attempt(email, ip)).pipe(
    Effect.as({ outcome: "counted" as const, retryAfter: 0 }),
    Effect.catchTag("TooManyLoginAttempts", (error) => Effect.succeed({ outcome: "refused" as const, retryAfter: error.retryAfterSeconds }))
  ))
const signedIn = (email: string, ip: string) =>
  run(Effect.flatMap(Effect.service(LoginThrottle.LoginThrottle), (throttle) => throttle.succeeded(email, ip)))
/** `count` attempts from each address, all at once; how many were counted. */
const burst = async (email: string, addresses: ReadonlyArray<string>, count: number) => {
  const outcomes = await Promise.all(addresses.flatMap((ip) => Array.from({ length: count }, () => tryLogin(email, ip))))
  return outcomes.filter((o) => o.outcome === "counted").length
}
const addresses = (network: string, from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `${network}.${from + i}`)

describe("a parallel burst of wrong passwords (HTTP, two instances)", () => {
  it("30 at once for one email from one address: exactly 10 are checked (401), 20 refused (429); then the right password is refused too", async () => {
    const email = uniqueEmail()
    await ok(viaFirst().auth.register({ payload: { email, password: "correct horse battery", fullName: "Burst" } }), 201)
    const login = (via: typeof viaFirst, password: string) => via().auth.login({ payload: { email, password } })
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => attempt(login(i % 2 === 0 ? viaFirst : viaSecond, `wrong password ${i}`)))
    )
    const statuses = results.map((r) => r.status)
    expect(statuses.filter((s) => s === 401)).toHaveLength(10)
    expect(statuses.filter((s) => s === 429)).toHaveLength(20)
    const right = await failureAndResponse(login(viaSecond, "correct horse battery"), "TooManyAttempts")
    expect(right.error.code).toBe("too_many_attempts")
    const retryAfter = Number(right.response?.headers.get("retry-after"))
    expect(retryAfter).toBeGreaterThan(800)
    expect(retryAfter).toBeLessThanOrEqual(900)
    // Neither the email nor an address is stored in the clear.
    const rows = await sql<{ key: string }>("SELECT key FROM login_attempts UNION ALL SELECT key FROM login_known_networks")
    expect(rows.length).toBeGreaterThan(0)
    for (const { key } of rows) expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})

describe("attempts whose password was never checked (hashing busy)", () => {
  it("are taken back from the pair and the account: 40 unchecked attempts lock nothing", async () => {
    const email = uniqueEmail()
    const unchecked = (ip: string) =>
      run(Effect.flatMap(Effect.service(LoginThrottle.LoginThrottle), (throttle) => throttle.unchecked(email, ip)))
    for (let i = 0; i < 40; i++) {
      expect((await tryLogin(email, "198.51.100.7")).outcome).toBe("counted")
      await unchecked("198.51.100.7")
    }
    const [pair] = await sql<{ failures: number }>("SELECT failures FROM login_attempts ORDER BY window_start DESC LIMIT 1")
    expect(pair!.failures).toBe(0)
    // Still the full 10 for real failures.
    expect(await burst(email, ["198.51.100.7"], 12)).toBe(10)
  })
})

describe("the per-pair limit", () => {
  it("counts 10 attempts per email and address in a window, starts again once the window has passed, and a success clears it", async () => {
    const email = uniqueEmail()
    expect(await burst(email, ["203.0.113.7"], 12)).toBe(10)
    expect(await burst(email, ["203.0.113.8"], 1)).toBe(1)
    // The window passes (moved back in the table rather than waiting 15 minutes).
    await sql("UPDATE login_attempts SET window_start = window_start - interval '15 minutes'")
    expect(await burst(email, ["203.0.113.7"], 12)).toBe(10)

    const other = uniqueEmail()
    expect(await burst(other, ["203.0.113.7"], 9)).toBe(9)
    await signedIn(other, "203.0.113.7")
    expect(await burst(other, ["203.0.113.7"], 11)).toBe(10)
  })
})

describe("the per-account ceiling", () => {
  it("lets exactly 50 of 80 attempts from 80 addresses through, all at once", async () => {
    expect(await burst(uniqueEmail(), addresses("192.0.2", 1, 80), 1)).toBe(50)
  })

  it("counts only attempts their pair allowed, refuses new addresses beyond it, and lets the owner's known network through", async () => {
    const email = uniqueEmail()
    await signedIn(email, "203.0.113.7") // the owner, some days before
    // Four addresses, 12 each: 40 counted; the 8 their pair refused do not count for the account.
    expect(await burst(email, addresses("192.0.2", 1, 4), 12)).toBe(40)
    expect(await burst(email, ["192.0.2.5"], 10)).toBe(10)
    const refused = await tryLogin(email, "192.0.2.6")
    expect(refused.outcome).toBe("refused")
    expect(refused.retryAfter).toBeGreaterThan(800)
    expect(refused.retryAfter).toBeLessThanOrEqual(900)
    expect((await tryLogin(email, "2001:db8::1")).outcome).toBe("refused")
    // The owner's network (another address of its /24) passes, still bound by its pair's limit.
    expect(await burst(email, ["203.0.113.99"], 11)).toBe(10)
    // Once the account's window has passed, anyone may try again.
    await sql("UPDATE login_attempts SET window_start = window_start - interval '15 minutes'")
    expect((await tryLogin(email, "192.0.2.6")).outcome).toBe("counted")
  })

  it("a success gives its attempt back to the account; a network known more than 30 days ago is not known any more", async () => {
    const email = uniqueEmail()
    await signedIn(email, "203.0.113.7")
    await sql("UPDATE login_known_networks SET last_success_at = last_success_at - interval '31 days'")
    expect(await burst(email, addresses("192.0.2", 1, 5), 10)).toBe(50)
    expect((await tryLogin(email, "203.0.113.7")).outcome).toBe("refused")

    const owner = uniqueEmail()
    expect(await burst(owner, addresses("192.0.2", 1, 5), 10)).toBe(50)
    await signedIn(owner, "192.0.2.5") // that attempt was the owner's after all: 49 failures
    expect((await tryLogin(owner, "198.51.100.1")).outcome).toBe("counted")
    expect((await tryLogin(owner, "198.51.100.2")).outcome).toBe("refused")
  })
})

describe("prune", () => {
  it("deletes the counters whose window has passed and the networks unused for 30 days, and nothing else", async () => {
    await sql("DELETE FROM login_attempts")
    await sql("DELETE FROM login_known_networks")
    const live = uniqueEmail()
    await tryLogin(live, "203.0.113.7")
    await signedIn(uniqueEmail(), "203.0.113.7")
    // 12,000 expired counters (more than one batch) and 3 stale networks.
    await sql(`
      INSERT INTO login_attempts (key, kind, failures, window_start)
      SELECT 'expired-' || i, CASE WHEN i % 2 = 0 THEN 'pair' ELSE 'account' END, 3, now() - interval '15 minutes 1 second'
      FROM generate_series(1, 12000) AS i`)
    await sql(`
      INSERT INTO login_known_networks (key, last_success_at)
      SELECT 'stale-' || i, now() - interval '30 days 1 second' FROM generate_series(1, 3) AS i`)
    expect(await run(LoginThrottle.prune)).toBe(12_003)
    const left = await sql<{ n: number }>("SELECT (SELECT count(*) FROM login_attempts)::int + (SELECT count(*) FROM login_known_networks)::int AS n")
    expect(left[0]!.n).toBe(3) // the live pair and account counters, the fresh network
    expect((await tryLogin(live, "203.0.113.7")).outcome).toBe("counted")
    expect(await run(LoginThrottle.prune)).toBe(0)
  })
})

describe("a database that cannot be reached", () => {
  it("fails attempt, succeeded and prune with DatabaseUnavailable (a 503), not a defect", async () => {
    const closed = `postgres://customify@127.0.0.1:${await freePort()}/nowhere`
    const outcomes = await Effect.runPromise(Effect.gen(function*() {
      const throttle = yield* LoginThrottle.LoginThrottle
      return yield* Effect.all([
        Effect.flip(throttle.attempt("alice@example.com", "203.0.113.7")),
        Effect.flip(throttle.succeeded("alice@example.com", "203.0.113.7")),
        Effect.flip(LoginThrottle.prune)
      ])
    }).pipe(Effect.provide(throttleOver(closed))))
    expect(outcomes.map((error) => error._tag)).toEqual(["DatabaseUnavailable", "DatabaseUnavailable", "DatabaseUnavailable"])
  })
})
