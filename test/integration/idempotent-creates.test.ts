import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, Exit, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { UserId } from "../../src/domain/User.ts"
import * as IdempotencyStore from "../../src/features/idempotency/IdempotencyStore.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, holdTableLock, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { sleep } from "../support/faults.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, failsWithProblem, failure, ok, typedClient } from "../support/typedClient.ts"

/**
 * Idempotency-Key on creates, attacked over HTTP through the typed client on two instances that
 * share real PostgreSQL: bursts of the same key, a first request that dies mid-flight, other
 * users, other bodies, other routes, expired keys.
 */
const SERVICE_KEY = "s".repeat(40)
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let instanceA: ReturnType<typeof makeTestApp>
let instanceB: ReturnType<typeof makeTestApp>
/** A third instance whose requests time out after a second: its requests "die" mid-flight. */
let hasty: ReturnType<typeof makeTestApp>
const HASTY_TIMEOUT = Duration.seconds(1)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  const config = { serviceApiKeys: [Redacted.make(SERVICE_KEY)], databasePoolMax: 20 }
  instanceA = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config })
  instanceB = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config })
  hasty = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config: { ...config, requestTimeout: HASTY_TIMEOUT } })
}, 60_000)
afterAll(async () => {
  await instanceA?.dispose()
  await instanceB?.dispose()
  await hasty?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const a = typedClient(() => instanceA)
const b = typedClient(() => instanceB)
const slow = typedClient(() => hasty)
const on = (i: number) => (i % 2 === 0 ? a : b)

const runSql = <A>(body: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown, any>) =>
  Effect.runPromise(
    Effect.flatMap(Effect.service(SqlClient.SqlClient), body).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))
    ) as Effect.Effect<A>
  )

const signUp = async () => {
  const { user, tokens } = await ok(
    a().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Retrier" } }),
    201
  )
  return { id: user.id, token: tokens.accessToken }
}

/** Designs of the user, and designs charged to the user's quota. */
const counts = async (userId: string) => {
  const [row] = await runSql((sql) =>
    sql<{ designs: number; charged: number }>`
      SELECT (SELECT count(*)::int FROM designs WHERE owner_id = ${userId}) AS designs,
        (SELECT coalesce(sum(designs_created), 0)::int FROM design_usage WHERE user_id = ${userId}) AS charged`
  )
  return row!
}

const payload = (name = "Retried mug") => ({ name, productType: "mug" as const, document: validDocument() })
const withKey = (token: string, key: string) => ({ token, headers: { "idempotency-key": key } })
const createWith = (client: typeof a, token: string, key: string, name?: string) =>
  client(withKey(token, key)).designs.create({ payload: payload(name) })

/** Holds the quota counter's table lock for `millis`: creates wait meanwhile. */
const holdUsageLock = (millis: number) => holdTableLock(databaseUrl, "design_usage", millis)

describe("Idempotency-Key on creates", () => {
  it("20 requests with one key on two instances at once: one design, one charge, every answer the same 201 or 409 in progress", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    // The first request waits on the counter's lock, so the others arrive while it is in flight.
    const { released } = await holdUsageLock(500)
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(createWith(on(i), user.token, key))))
    await released
    const created = outcomes.flatMap((outcome) => (outcome._tag === "Success" ? [outcome] : []))
    const refused = outcomes.flatMap((outcome) => (outcome._tag === "Failure" ? [outcome] : []))
    expect(created.length).toBeGreaterThanOrEqual(1)
    for (const outcome of created) {
      expect(outcome.status).toBe(201)
      expect(outcome.response!.text).toBe(created[0]!.response!.text)
    }
    for (const outcome of refused) {
      expect(outcome.error).toMatchObject({ _tag: "IdempotencyInProgress", status: 409, code: "idempotency_in_progress" })
      expect(Number(outcome.response!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    }
    expect(await counts(user.id)).toEqual({ designs: 1, charged: 1 })

    // Once settled, every retry on either instance replays the first answer byte for byte.
    for (const client of [a, b]) {
      const replayed = await attempt(createWith(client, user.token, key))
      expect(replayed._tag).toBe("Success")
      expect(replayed.status).toBe(201)
      expect(replayed.response!.text).toBe(created[0]!.response!.text)
      expect(replayed.response!.headers.get("idempotent-replayed")).toBe("true")
      // The headers that matter come back too: the design's ETag.
      expect(replayed.response!.headers.get("etag")).toBe(created[0]!.response!.headers.get("etag"))
      expect(replayed.response!.headers.get("etag")).toMatch(/"v1"$/u)
    }
    expect(await counts(user.id)).toEqual({ designs: 1, charged: 1 })
  }, 30_000)

  it("a first request cut short by its timeout still finishes under its key: retries replay it, never create again", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    // The hasty instance's request waits on the lock past its request timeout.
    const { released } = await holdUsageLock(2_500)
    const first = attempt(createWith(slow, user.token, key))
    await sleep(Duration.toMillis(HASTY_TIMEOUT) + 300)
    // Still running on the other instance: whether it will commit is not known yet.
    const early = await failure(createWith(a, user.token, key), "IdempotencyInProgress")
    expect(early.retryAfter).toBeGreaterThanOrEqual(1)
    expect(early.retryAfter).toBeLessThanOrEqual(Duration.toSeconds(HASTY_TIMEOUT) + 5)
    await released
    // The client was told its request timed out; the create ran to its end and kept its answer.
    expect((await first).status).toBe(503)
    expect(await counts(user.id)).toEqual({ designs: 1, charged: 1 })
    const retried = await attempt(createWith(b, user.token, key))
    expect(retried.status).toBe(201)
    expect(retried.response!.headers.get("idempotent-replayed")).toBe("true")
    const again = await ok(createWith(a, user.token, key), 201)
    expect(again.id).toBe(retried._tag === "Success" ? retried.value.id : undefined)
    expect(await counts(user.id)).toEqual({ designs: 1, charged: 1 })
  }, 30_000)

  it("keys are per user: the same key from another user creates that user's own design", async () => {
    const [first, second] = [await signUp(), await signUp()]
    const key = "shared-key-0001"
    const one = await ok(createWith(a, first.token, key), 201)
    const other = await ok(createWith(b, second.token, key), 201)
    expect(other.id).not.toBe(one.id)
    expect(other.ownerId).toBe(second.id)
    expect(await counts(first.id)).toEqual({ designs: 1, charged: 1 })
    expect(await counts(second.id)).toEqual({ designs: 1, charged: 1 })
  })

  it("the same key with another body, or on another route, is 422 idempotency_key_reused", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    const design = await ok(createWith(a, user.token, key, "First"), 201)
    await failsWithProblem(createWith(b, user.token, key, "Second"), "IdempotencyKeyReused", 422, "idempotency_key_reused")
    await failsWithProblem(
      a(withKey(user.token, key)).designs.duplicate({ params: { id: design.id } }),
      "IdempotencyKeyReused",
      422,
      "idempotency_key_reused"
    )
    await failsWithProblem(
      a(withKey(user.token, key)).jobs.render({ params: { id: design.id }, payload: {} }),
      "IdempotencyKeyReused",
      422,
      "idempotency_key_reused"
    )
    // The same body spelled with its members in another order and other spacing is the same request.
    const { name, productType, document } = payload("First")
    const reordered = await instanceB.handler(new Request("http://test/api/v1/designs", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${user.token}`, "idempotency-key": key },
      body: JSON.stringify({ document, productType, name }, null, 2)
    }))
    expect(reordered.status).toBe(201)
    expect(reordered.headers.get("idempotent-replayed")).toBe("true")
    expect((await reordered.json() as { id: string }).id).toBe(design.id)
    expect(await counts(user.id)).toEqual({ designs: 1, charged: 1 })
  })

  it("duplicate, upload ticket and render request replay too", async () => {
    const user = await signUp()
    const design = await ok(a(user.token).designs.create({ payload: payload() }), 201)
    const dupKey = crypto.randomUUID()
    const copies = [
      await ok(a(withKey(user.token, dupKey)).designs.duplicate({ params: { id: design.id } }), 201),
      await ok(b(withKey(user.token, dupKey)).designs.duplicate({ params: { id: design.id } }), 201)
    ]
    expect(copies[1]!.id).toBe(copies[0]!.id)
    const uploadKey = crypto.randomUUID()
    const upload = { fileName: "a.png", contentType: "image/png" as const, byteSize: 100 }
    const tickets = [
      await ok(a(withKey(user.token, uploadKey)).assets.requestUpload({ params: { id: design.id }, payload: upload }), 201),
      await ok(b(withKey(user.token, uploadKey)).assets.requestUpload({ params: { id: design.id }, payload: upload }), 201)
    ]
    expect(tickets[1]).toEqual(tickets[0])
    const renderKey = crypto.randomUUID()
    const jobs = [
      await ok(a(withKey(user.token, renderKey)).jobs.render({ params: { id: design.id }, payload: {} }), 202),
      await ok(b(withKey(user.token, renderKey)).jobs.render({ params: { id: design.id }, payload: {} }), 202)
    ]
    expect(jobs[1]).toEqual(jobs[0])
    const [row] = await runSql((sql) =>
      sql<{ designs: number; assets: number; jobs: number }>`
        SELECT (SELECT count(*)::int FROM designs WHERE owner_id = ${user.id}) AS designs,
          (SELECT count(*)::int FROM assets WHERE owner_id = ${user.id}) AS assets,
          (SELECT count(*)::int FROM render_jobs WHERE owner_id = ${user.id}) AS jobs`
    )
    expect(row).toEqual({ designs: 2, assets: 1, jobs: 1 })
  })

  it("a client error stores nothing: after fixing the cause, a retry with the same key runs", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    await ok(a({ serviceKey: SERVICE_KEY }).internal.setSubscription({ params: { userId: user.id as UserId }, payload: { plan: "free", status: "canceled" } }))
    await failure(createWith(a, user.token, key), "SubscriptionInactive")
    await ok(a({ serviceKey: SERVICE_KEY }).internal.setSubscription({ params: { userId: user.id as UserId }, payload: { plan: "pro", status: "active" } }))
    await ok(createWith(b, user.token, key), 201)
    expect(await counts(user.id)).toEqual({ designs: 1, charged: 1 })
  })

  it("an expired key is free again: a new create", async () => {
    const user = await signUp()
    const key = crypto.randomUUID()
    const first = await ok(createWith(a, user.token, key), 201)
    await runSql((sql) => sql`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = ${user.id}`)
    const second = await ok(createWith(b, user.token, key), 201)
    expect(second.id).not.toBe(first.id)
    expect(await counts(user.id)).toEqual({ designs: 2, charged: 2 })
  })

  it("a malformed key is a 400 validation_failed on the header, before any work", async () => {
    const user = await signUp()
    for (const key of ["x".repeat(256), "with space", "é"]) {
      const refused = await failsWithProblem(createWith(a, user.token, key), "ValidationFailed", 400, "validation_failed")
      expect(refused.error.errors).toEqual([expect.objectContaining({ path: "idempotency-key", location: "header" })])
    }
    expect(await counts(user.id)).toEqual({ designs: 0, charged: 0 })
  })

  it("housekeeping prunes expired keys and keeps live ones", async () => {
    const user = await signUp()
    await ok(createWith(a, user.token, "kept-key-1"), 201)
    await ok(createWith(a, user.token, "gone-key-1", "Other"), 201)
    await runSql((sql) => sql`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'gone-key-1'`)
    const pruned = await runSql(() =>
      Effect.flatMap(Effect.service(IdempotencyStore.IdempotencyStore), (store) => store.prune).pipe(
        Effect.provide(IdempotencyStore.layerSql)
      )
    )
    expect(pruned).toBe(1)
    const keys = await runSql((sql) => sql<{ key: string }>`SELECT key FROM idempotency_keys WHERE user_id = ${user.id}`)
    expect(keys.map((row) => row.key)).toEqual(["kept-key-1"])
  })
})
