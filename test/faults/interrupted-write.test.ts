import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Exit, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, holdTableLock, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { sleep, waitFor } from "../support/faults.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"

/**
 * A design create interrupted mid-transaction (its request timed out, or its client went away)
 * leaves nothing half-done: the quota counter and the designs table always agree, whatever the
 * moment of the interruption. The database is made slow on purpose by holding a table lock on
 * the counter while many creates run at once.
 */
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let databaseName: string
/** The real request timeout: only client aborts interrupt here. */
let patientApp: ReturnType<typeof makeTestApp>
/** The smallest request timeout the configuration allows. */
let hastyApp: ReturnType<typeof makeTestApp>
const users: Array<{ id: string; token: string }> = []

const runSql = <A>(body: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(Effect.service(SqlClient.SqlClient), body).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))
    ) as Effect.Effect<A>
  )

/** Holds the quota counter's table lock for `millis`: creates wait meanwhile. */
const holdUsageLock = (millis: number) => holdTableLock(databaseUrl, "design_usage", millis)

interface Outcome {
  readonly status: number | "aborted"
  readonly id?: string
}

const create = async (
  app: ReturnType<typeof makeTestApp>,
  user: { token: string },
  name: string,
  abortAfterMs?: number
): Promise<Outcome> => {
  const controller = new AbortController()
  if (abortAfterMs !== undefined) setTimeout(() => controller.abort(), abortAfterMs)
  try {
    const response = await app.handler(
      new Request("http://test/api/v1/designs", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
        body: JSON.stringify({ name, productType: "mug", document: validDocument() }),
        signal: controller.signal
      })
    )
    const text = await response.text()
    const body = text === "" ? undefined : JSON.parse(text)
    return { status: response.status, id: response.status === 201 ? body.id : undefined }
  } catch {
    return { status: "aborted" }
  }
}

/** Waits until no query of this database is running or idle in a transaction (the stragglers settled). */
const settled = () =>
  waitFor("interrupted transactions to settle", 15_000, async () => {
    const rows = await runSql((sql) =>
      sql<{ n: string }>`
        SELECT count(*) AS n FROM pg_stat_activity
        WHERE datname = ${databaseName} AND pid <> pg_backend_pid()
          AND (state = 'active' OR state LIKE 'idle in transaction%')`
    )
    return Number(rows[0]!.n) === 0 ? true : undefined
  })

/** For every user: designs and the quota counter agree; every design the API confirmed exists. */
const expectConsistent = async (confirmed: ReadonlyArray<string>) => {
  await settled()
  const rows = await runSql((sql) =>
    sql<{ userId: string; designs: string; charged: string }>`
      SELECT u.id AS user_id,
        (SELECT count(*) FROM designs d WHERE d.owner_id = u.id) AS designs,
        (SELECT coalesce(sum(designs_created), 0) FROM design_usage g WHERE g.user_id = u.id) AS charged
      FROM users u`
  )
  for (const row of rows) {
    expect({ user: row.userId, designs: Number(row.designs) }).toEqual({ user: row.userId, designs: Number(row.charged) })
  }
  if (confirmed.length > 0) {
    const found = await runSql((sql) => sql<{ id: string }>`SELECT id FROM designs WHERE id IN ${sql.in(confirmed)}`)
    expect(found.length).toBe(confirmed.length)
  }
  // No row is half-filled: every design has its document, name, version and timestamps.
  const broken = await runSql((sql) =>
    sql<{ n: string }>`
      SELECT count(*) AS n FROM designs
      WHERE document IS NULL OR name IS NULL OR version <> 1 OR created_at IS NULL OR updated_at IS NULL`
  )
  expect(Number(broken[0]!.n)).toBe(0)
  return rows.reduce((sum, row) => sum + Number(row.designs), 0)
}

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const redisUrl = realRedisUrl()
  if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  databaseName = new URL(databaseUrl).pathname.slice(1)
  // Sessions live in the shared Redis, so a token from one app is good on the other.
  patientApp = makeTestApp({ databaseUrl, redisUrl, config: { databasePoolMax: 20 } })
  hastyApp = makeTestApp({ databaseUrl, redisUrl, config: { databasePoolMax: 20, requestTimeout: Duration.millis(100) } })
  for (let i = 0; i < 3; i++) {
    const response = await patientApp.handler(new Request("http://test/api/v1/auth/register", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: uniqueEmail(), password: "correct horse battery", fullName: `Writer ${i}` })
    }))
    expect(response.status).toBe(201)
    const body = await response.json() as { user: { id: string }; tokens: { accessToken: string } }
    users.push({ id: body.user.id, token: body.tokens.accessToken })
  }
  // Unlimited plan: the quota ceiling never refuses, so every create either commits whole or not at all.
  await runSql((sql) => sql`UPDATE subscriptions SET plan_id = 'enterprise'`)
}, 60_000)

afterAll(async () => {
  await hastyApp?.dispose()
  await patientApp?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("an interrupted design create", () => {
  it("timed out while the quota counter is locked: nothing is charged and nothing inserted", async () => {
    const { released } = await holdUsageLock(1_000)
    const startedAt = performance.now()
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => create(hastyApp, users[i % users.length]!, `locked ${i}`))
    )
    const answeredIn = performance.now() - startedAt
    await released
    // Every one was cut off by the request timeout while waiting on the lock, long before its release.
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(30).fill(503))
    expect(answeredIn).toBeLessThan(800)
    expect(await expectConsistent([])).toBe(0)
  })

  it("timed out or aborted at random moments around a short lock: counter and designs agree", async () => {
    const confirmed: Array<string> = []
    let interrupted = 0
    for (let round = 0; round < 6; round++) {
      const { released } = await holdUsageLock(60 + round * 25)
      const outcomes = await Promise.all([
        // Cut off by the 100 ms request timeout, some before, some after the lock is released.
        ...Array.from({ length: 15 }, (_, i) => create(hastyApp, users[i % users.length]!, `hasty ${round}.${i}`)),
        // The client goes away at a random moment.
        ...Array.from({ length: 15 }, (_, i) =>
          create(patientApp, users[i % users.length]!, `aborted ${round}.${i}`, Math.floor(Math.random() * 150)))
      ])
      await released
      for (const outcome of outcomes) {
        if (outcome.status === 201) confirmed.push(outcome.id!)
        else interrupted++
      }
      await sleep(50)
    }
    const total = await expectConsistent(confirmed)
    // Both kinds of outcome happened, or the test proved nothing.
    expect(interrupted).toBeGreaterThan(0)
    expect(confirmed.length).toBeGreaterThan(0)
    expect(total).toBeGreaterThanOrEqual(confirmed.length)
  })

  it("leaves both pools usable afterwards", async () => {
    for (const app of [hastyApp, patientApp]) {
      const outcomes = await Promise.all(users.map((user, i) => create(app, user, `after ${i}`)))
      expect(outcomes.map((outcome) => outcome.status)).toEqual(users.map(() => 201))
    }
    await expectConsistent([])
  })
})
