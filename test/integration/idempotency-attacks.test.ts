import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Exit, Redacted, Scope, String } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as IdempotencyStore from "../../src/features/idempotency/IdempotencyStore.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { ok, typedClient } from "../support/typedClient.ts"

/**
 * Idempotency-Key attacked where the first suite (idempotent-creates.test.ts) does not go: a claim
 * that races a takeover of an expired or abandoned key, the same route spelled otherwise, odd
 * header values, huge and unreadable bodies.
 */
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let instanceA: ReturnType<typeof makeTestApp>
let instanceB: ReturnType<typeof makeTestApp>

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  instanceA = makeTestApp({ databaseUrl, redisUrl: realRedisUrl() })
  instanceB = makeTestApp({ databaseUrl, redisUrl: realRedisUrl() })
}, 60_000)
afterAll(async () => {
  await instanceA?.dispose()
  await instanceB?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const a = typedClient(() => instanceA)

const runSql = <A>(body: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown, any>) =>
  Effect.runPromise(
    Effect.flatMap(Effect.service(SqlClient.SqlClient), body).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))
    ) as Effect.Effect<A>
  )

/** The store on its own connection; `inTransaction` runs the claim in a transaction held open `holdMillis` after it. */
const storeCall = <A>(use: (store: IdempotencyStore.IdempotencyStore["Service"], sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const store = yield* IdempotencyStore.IdempotencyStore
      const sql = yield* SqlClient.SqlClient
      return yield* use(store, sql)
    }).pipe(
      Effect.provide(IdempotencyStore.layerSql),
      // Result names as the app's database layer spells them.
      Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1, transformResultNames: String.snakeToCamel }))
    ) as Effect.Effect<A>
  )

const signUp = async () => {
  const { user, tokens } = await ok(
    a().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Attacker" } }),
    201
  )
  return { id: user.id, token: tokens.accessToken }
}

const counts = async (userId: string) => {
  const [row] = await runSql((sql) =>
    sql<{ designs: number }>`SELECT (SELECT count(*)::int FROM designs WHERE owner_id = ${userId}) AS designs`
  )
  return row!
}

const payload = (name = "Attacked mug") => ({ name, productType: "mug" as const, document: validDocument() })

const raw = (instance: ReturnType<typeof makeTestApp>, path: string, token: string, headers: Record<string, string> | Array<[string, string]>, body?: string) => {
  const all = new Headers(headers as any)
  all.set("authorization", `Bearer ${token}`)
  if (body !== undefined) all.set("content-type", "application/json")
  return instance.handler(new Request(`http://test${path}`, { method: "POST", headers: all, ...(body === undefined ? {} : { body }) }))
}

const claimRequest = (userId: string, key: string, fingerprint: string) => ({
  userId,
  key,
  fingerprint,
  lease: Duration.seconds(30),
  ttl: Duration.hours(24)
})

describe("Idempotency-Key attacks", () => {
  /**
   * The key left in `state` by a first request with `earlier`; then instance X takes it over
   * for `fingerprint` in a transaction it holds open while Y claims the same: what Y is told.
   */
  const raceTakeover = async (earlier: string, state: "expired answer" | "abandoned", fingerprint: string) => {
    const user = await signUp()
    const key = crypto.randomUUID()
    const first = await storeCall((store) => store.claim(claimRequest(user.id, key, earlier)))
    expect(first._tag).toBe("Claimed")
    if (state === "expired answer") {
      await storeCall((store) =>
        store.complete({ userId: user.id, key, token: (first as { token: string }).token }, { status: 201, headers: {}, body: "old answer" }))
      await runSql((sql) => sql`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = ${user.id}`)
    } else {
      await runSql((sql) => sql`UPDATE idempotency_keys SET leased_until = now() - interval '1 second' WHERE user_id = ${user.id}`)
    }
    let taken!: () => void
    const isTaken = new Promise<void>((resolve) => (taken = resolve))
    const x = storeCall((store, sql) =>
      sql.withTransaction(store.claim(claimRequest(user.id, key, fingerprint)).pipe(
        Effect.tap(() => Effect.sync(() => taken())),
        Effect.tap(() => Effect.sleep("700 millis"))
      )))
    await isTaken
    const y = await storeCall((store) => store.claim(claimRequest(user.id, key, fingerprint)))
    expect((await x)._tag).toBe("Claimed")
    return y
  }

  it("a claim racing the takeover of an expired key never replays the expired answer", async () => {
    expect((await raceTakeover("same", "expired answer", "same"))._tag).toBe("InProgress")
  })

  it("a claim racing the takeover of an expired key first used for another request is in progress, not reused", async () => {
    expect((await raceTakeover("other", "expired answer", "new"))._tag).toBe("InProgress")
  })

  it("a claim racing the takeover of an abandoned key is told the new claim's lease, not the old one's", async () => {
    const y = await raceTakeover("same", "abandoned", "same")
    expect(y).toMatchObject({ _tag: "InProgress" })
    expect((y as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(20)
  })

  it("the design id in another spelling in the duplicate path is the same request: replayed, not 422", async () => {
    const user = await signUp()
    const design = await ok(a(user.token).designs.create({ payload: payload() }), 201)
    const key = crypto.randomUUID()
    const lower = await raw(instanceA, `/api/v1/designs/${design.id}/duplicate`, user.token, { "idempotency-key": key })
    expect(lower.status).toBe(201)
    const upper = await raw(instanceB, `/api/v1/designs/${design.id.toUpperCase()}/duplicate`, user.token, { "idempotency-key": key })
    expect(upper.status).toBe(201)
    expect(upper.headers.get("idempotent-replayed")).toBe("true")
    expect(upper.headers.get("content-type")).toBe(lower.headers.get("content-type"))
    expect(upper.headers.get("etag")).toBe(lower.headers.get("etag"))
    expect(await upper.text()).toBe(await lower.text())
    const encoded = await raw(instanceA, `/api/v1/designs/${encodeURIComponent(design.id).replace(/-/gu, "%2D")}/duplicate`, user.token, { "idempotency-key": key })
    expect(encoded.headers.get("idempotent-replayed")).toBe("true")
    expect(await counts(user.id)).toEqual({ designs: 2 })
    // Another design is another resource: the key is reused.
    const other = await ok(a(user.token).designs.create({ payload: payload("Other") }), 201)
    const elsewhere = await raw(instanceA, `/api/v1/designs/${other.id}/duplicate`, user.token, { "idempotency-key": key })
    expect(elsewhere.status).toBe(422)
    expect(await counts(user.id)).toEqual({ designs: 3 })
  })

  it("a trailing slash on the create is the same request", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    const body = JSON.stringify(payload())
    const first = await raw(instanceA, "/api/v1/designs", user.token, { "idempotency-key": key }, body)
    expect(first.status).toBe(201)
    const slashed = await raw(instanceB, "/api/v1/designs/", user.token, { "idempotency-key": key }, body)
    expect(slashed.status).toBe(201)
    expect(slashed.headers.get("idempotent-replayed")).toBe("true")
    expect(await counts(user.id)).toEqual({ designs: 1 })
  })

  it("interleaved bursts, many keys, two bodies per key, on two instances: at most one design per key, one answer per key", async () => {
    const user = await signUp()
    const keys = Array.from({ length: 8 }, () => crypto.randomUUID())
    const requests = keys.flatMap((key, k) =>
      Array.from({ length: 6 }, (_, i) => ({ key, variant: (i * 7 + k) % 3 === 0 ? "B" : "A", instance: (i + k) % 2 === 0 ? instanceA : instanceB }))
    )
    const answers = await Promise.all(requests.map(async (request) => {
      const response = await raw(request.instance, "/api/v1/designs", user.token, { "idempotency-key": request.key }, JSON.stringify(payload(`${request.key}-${request.variant}`)))
      return { ...request, status: response.status, replayed: response.headers.get("idempotent-replayed") === "true", text: await response.text() }
    }))
    let created = 0
    for (const key of keys) {
      const mine = answers.filter((answer) => answer.key === key)
      const successes = mine.filter((answer) => answer.status === 201)
      expect(successes.filter((answer) => !answer.replayed).length).toBeLessThanOrEqual(1)
      created += successes.filter((answer) => !answer.replayed).length
      expect(new Set(successes.map((answer) => answer.text)).size).toBeLessThanOrEqual(1)
      expect(new Set(successes.map((answer) => answer.variant)).size).toBeLessThanOrEqual(1)
      for (const answer of mine) expect([201, 409, 422]).toContain(answer.status)
      const winner = successes[0]?.variant
      for (const answer of mine.filter((a) => a.status === 422)) {
        if (winner !== undefined) expect(answer.variant).not.toBe(winner)
      }
      // Settled: the next request with each body answers the winner's design or 422, never a new one.
      for (const variant of ["A", "B"]) {
        const again = await raw(instanceA, "/api/v1/designs", user.token, { "idempotency-key": key }, JSON.stringify(payload(`${key}-${variant}`)))
        if (winner === undefined) continue
        expect(again.status).toBe(variant === winner ? 201 : 422)
        if (variant === winner) expect(await again.text()).toBe(successes[0]!.text)
      }
    }
    const [row] = await runSql((sql) => sql<{ designs: number }>`SELECT count(*)::int AS designs FROM designs WHERE owner_id = ${user.id}`)
    expect(row!.designs).toBe(created)
  }, 30_000)

  it("odd header values: empty, repeated, control-free but spaced, are 400 on the header and create nothing", async () => {
    const user = await signUp()
    const body = JSON.stringify(payload())
    const cases: Array<Array<[string, string]>> = [
      [["idempotency-key", ""]],
      [["idempotency-key", "k1"], ["idempotency-key", "k1"]],
      [["idempotency-key", "k1"], ["idempotency-key", "k2"]],
      [["idempotency-key", "a\tb"]]
    ]
    for (const headers of cases) {
      const answer = await raw(instanceA, "/api/v1/designs", user.token, headers, body)
      expect(answer.status, JSON.stringify(headers)).toBe(400)
      expect(await answer.json()).toMatchObject({ code: "validation_failed", errors: [{ path: "idempotency-key", location: "header" }] })
    }
    expect(await counts(user.id)).toEqual({ designs: 0 })
  })

  it("a huge body is 413 and keeps no key; the same key then runs a proper request", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    const huge = JSON.stringify({ ...payload(), pad: "x".repeat(2 * 1024 * 1024) })
    // No content-length in advance: the body is streamed.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(huge))
        controller.close()
      }
    })
    const headers = new Headers({ "idempotency-key": key, authorization: `Bearer ${user.token}`, "content-type": "application/json" })
    const answer = await instanceA.handler(new Request("http://test/api/v1/designs", { method: "POST", headers, body: stream, duplex: "half" } as RequestInit))
    expect(answer.status).toBe(413)
    const rows = await runSql((sql) => sql`SELECT 1 FROM idempotency_keys WHERE user_id = ${user.id}`)
    expect(rows.length).toBe(0)
    const fine = await raw(instanceB, "/api/v1/designs", user.token, { "idempotency-key": key }, JSON.stringify(payload()))
    expect(fine.status).toBe(201)
    expect(await counts(user.id)).toEqual({ designs: 1 })
  })

  it("a body that cannot be read is refused and keeps no key", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    const stream = new ReadableStream({
      pull(controller) {
        controller.error(new Error("connection reset"))
      }
    })
    const headers = new Headers({ "idempotency-key": key, authorization: `Bearer ${user.token}`, "content-type": "application/json" })
    const answer = await instanceA.handler(new Request("http://test/api/v1/designs", { method: "POST", headers, body: stream, duplex: "half" } as RequestInit))
    expect(answer.status).toBeGreaterThanOrEqual(400)
    expect(answer.status).toBeLessThan(500)
    const rows = await runSql((sql) => sql`SELECT 1 FROM idempotency_keys WHERE user_id = ${user.id}`)
    expect(rows.length).toBe(0)
    expect(await counts(user.id)).toEqual({ designs: 0 })
  })
})
