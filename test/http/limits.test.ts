import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, failsWithProblem, ok, type Outcome, typedClient } from "../support/typedClient.ts"

/**
 * Every per-user resource bound, on two instances over one real PostgreSQL and one real Redis:
 * parallel bursts split across the instances meet each limit exactly, and the refusals are the
 * documented problems (status, code, `limit`, Retry-After for the 429s).
 */
const SERVICE_KEY = "l".repeat(40)
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)
const SIMILAR_SEARCHES_PER_HOUR = 5
const UPLOADS_PER_DESIGN = 4
const PENDING_UPLOADS_PER_USER = 6
const RENDER_JOBS_PER_HOUR = 4

const scope = Effect.runSync(Scope.make())
/** Both instances store local uploads in one directory, as they would share a bucket. */
const dataDir = mkdtempSync(join(tmpdir(), "customify-limits-"))
let databaseUrl: string
let first: ReturnType<typeof makeTestApp>
let second: ReturnType<typeof makeTestApp>
const onFirst = typedClient(() => first)
const onSecond = typedClient(() => second)
/** The instance for the i-th request of a burst: every other one. */
const instance = (i: number) => (i % 2 === 0 ? onFirst : onSecond)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  const options = {
    databaseUrl,
    redisUrl: realRedisUrl(),
    config: { serviceApiKeys: [Redacted.make(SERVICE_KEY)], dataDir, renderJobsPerHour: RENDER_JOBS_PER_HOUR },
    storage: { publicBaseUrl: "http://test", uploadsPerDesign: UPLOADS_PER_DESIGN, pendingUploadsPerUser: PENDING_UPLOADS_PER_USER },
    ai: { similarSearchesPerHour: SIMILAR_SEARCHES_PER_HOUR },
    // Similar-design search configured: the fake embedding model and an index in memory.
    overrides: Layer.merge(LanguageModel.layerFake, VectorIndex.layerMemory)
  }
  first = makeTestApp(options)
  second = makeTestApp(options)
}, 60_000)
afterAll(async () => {
  await first?.dispose()
  await second?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  rmSync(dataDir, { recursive: true, force: true })
})

const query = <A extends object>(statement: string, parameters: ReadonlyArray<unknown> = []) =>
  Effect.runPromise(
    Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) => sql.unsafe<A>(statement, parameters)).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))
    )
  )

const signUp = async () => {
  const signedIn = await ok(onFirst().auth.register({
    payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Limits" }
  }), 201)
  return { id: signedIn.user.id, token: signedIn.tokens.accessToken }
}

const createDesign = (token: string, name = "Limited") =>
  ok(onFirst(token).designs.create({ payload: { name, productType: "mug", document: validDocument() } }), 201)

const statusesOf = (outcomes: ReadonlyArray<Outcome<unknown, unknown>>) => {
  const counts: Record<number, number> = {}
  for (const outcome of outcomes) counts[outcome.status ?? 0] = (counts[outcome.status ?? 0] ?? 0) + 1
  return counts
}

const refusals = <A, E>(outcomes: ReadonlyArray<Outcome<A, E>>) =>
  outcomes.flatMap((outcome) => (outcome._tag === "Failure" ? [outcome] : []))

/** A 429 problem's Retry-After header is its `retryAfter`, within the hour. */
const expectRetryAfter = (outcome: Outcome<unknown, unknown>) => {
  const retryAfter = (outcome as { readonly error: { readonly retryAfter: number } }).error.retryAfter
  expect(retryAfter).toBeGreaterThan(0)
  expect(retryAfter).toBeLessThanOrEqual(3600)
  expect(outcome.response?.headers.get("retry-after")).toBe(String(retryAfter))
  expect(outcome.response?.headers.get("content-type")).toContain("application/problem+json")
}

describe("similar-design search budget (SIMILAR_SEARCHES_PER_HOUR, counted in Redis)", () => {
  it("a burst of 12 searches on two instances gets exactly 5 answers, then 429 ai_rate_limited naming the budget", async () => {
    const user = await signUp()
    const design = await createDesign(user.token)
    const search = (i: number) => instance(i)(user.token).ai.similar({ params: { id: design.id }, query: {} })
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(search(i))))
    expect(statusesOf(burst)).toEqual({ 200: SIMILAR_SEARCHES_PER_HOUR, 429: 12 - SIMILAR_SEARCHES_PER_HOUR })
    for (const refused of refusals(burst)) {
      expect(refused.error).toMatchObject({
        _tag: "AiRateLimited",
        code: "ai_rate_limited",
        budget: "similar_designs",
        limit: SIMILAR_SEARCHES_PER_HOUR
      })
      expectRetryAfter(refused)
    }
    const again = await failsWithProblem(search(1), "AiRateLimited", 429, "ai_rate_limited")
    expect(again.error.detail).toContain("SIMILAR_SEARCHES_PER_HOUR")

    // Per user: another user's budget is whole; a search of a design that is not the caller's spends nothing.
    const other = await signUp()
    await failsWithProblem(onFirst(other.token).ai.similar({ params: { id: design.id }, query: {} }), "NotFound", 404, "not_found")
    const theirs = await createDesign(other.token)
    const theirBurst = await Promise.all(
      Array.from({ length: SIMILAR_SEARCHES_PER_HOUR }, (_, i) => attempt(instance(i)(other.token).ai.similar({ params: { id: theirs.id }, query: {} })))
    )
    expect(statusesOf(theirBurst)).toEqual({ 200: SIMILAR_SEARCHES_PER_HOUR })
  })
})

describe("uploads per design and pending uploads per user (counted in PostgreSQL)", () => {
  const request = (i: number, token: string, designId: DesignId) =>
    instance(i)(token).assets.requestUpload({
      params: { id: designId },
      payload: { fileName: `image-${i}.png`, contentType: "image/png", byteSize: PNG.length }
    })

  /** PUTs the bytes to the upload URL (served by the first instance: local storage) and completes the upload. */
  const uploadAndComplete = async (token: string, designId: DesignId, grant: { assetId: string; uploadUrl: string; headers: Record<string, string> }) => {
    const put = await first.handler(new Request(grant.uploadUrl, { method: "PUT", headers: grant.headers, body: PNG }))
    expect(put.status).toBe(200)
    return ok(onSecond(token).assets.complete({ params: { id: designId, assetId: grant.assetId as never } }), 200)
  }

  it(`a burst of 10 on one design, on two instances, records exactly ${UPLOADS_PER_DESIGN}; completed uploads still count`, async () => {
    const user = await signUp()
    const design = await createDesign(user.token)
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(request(i, user.token, design.id))))
    expect(statusesOf(burst)).toEqual({ 201: UPLOADS_PER_DESIGN, 409: 10 - UPLOADS_PER_DESIGN })
    for (const refused of refusals(burst)) {
      expect(refused.error).toMatchObject({ _tag: "UploadLimitReached", code: "too_many_assets", limit: UPLOADS_PER_DESIGN, status: 409 })
      expect(refused.response?.headers.get("content-type")).toContain("application/problem+json")
    }
    const [rows] = await query<{ n: number }>("SELECT count(*)::int AS n FROM assets WHERE design_id = $1", [design.id])
    expect(rows!.n).toBe(UPLOADS_PER_DESIGN)

    // Completing one frees nothing on the design: completed uploads count too.
    const granted = burst.flatMap((outcome) => (outcome._tag === "Success" ? [outcome.value] : []))
    await uploadAndComplete(user.token, design.id, granted[0]!)
    const full = await failsWithProblem(request(0, user.token, design.id), "UploadLimitReached", 409, "too_many_assets")
    expect(full.error.limit).toBe(UPLOADS_PER_DESIGN)
    expect(full.error.detail).toContain("UPLOADS_PER_DESIGN")
    // Another design of the same user has room.
    await ok(request(1, user.token, (await createDesign(user.token)).id), 201)
  })

  it(`a burst of 12 over six designs, on two instances, leaves exactly ${PENDING_UPLOADS_PER_USER} pending; completing one makes room for one`, async () => {
    const user = await signUp()
    const designs = await Promise.all(Array.from({ length: 6 }, (_, i) => createDesign(user.token, `Design ${i}`)))
    // Two requests per design: no design reaches its own limit, only the user's pending one binds.
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => attempt(request(i, user.token, designs[i % 6]!.id))))
    expect(statusesOf(burst)).toEqual({ 201: PENDING_UPLOADS_PER_USER, 409: 12 - PENDING_UPLOADS_PER_USER })
    for (const refused of refusals(burst)) {
      expect(refused.error).toMatchObject({
        _tag: "UploadLimitReached",
        code: "too_many_pending_uploads",
        limit: PENDING_UPLOADS_PER_USER,
        status: 409
      })
    }
    const [rows] = await query<{ n: number }>("SELECT count(*)::int AS n FROM assets WHERE owner_id = $1 AND status = 'pending'", [user.id])
    expect(rows!.n).toBe(PENDING_UPLOADS_PER_USER)
    const refused = await failsWithProblem(request(0, user.token, designs[0]!.id), "UploadLimitReached", 409, "too_many_pending_uploads")
    expect(refused.error.detail).toContain("PENDING_UPLOADS_PER_USER")

    // One completed: exactly one more may be pending, whichever instance is asked.
    const succeeded = burst.flatMap((outcome, i) => (outcome._tag === "Success" ? [{ grant: outcome.value, designId: designs[i % 6]!.id }] : []))
    await uploadAndComplete(user.token, succeeded[0]!.designId, succeeded[0]!.grant)
    const next = await Promise.all(Array.from({ length: 4 }, (_, i) => attempt(request(i, user.token, designs[5]!.id))))
    expect(statusesOf(next)).toEqual({ 201: 1, 409: 3 })

    // Per user: someone else is not held back.
    const other = await signUp()
    await ok(request(0, other.token, (await createDesign(other.token)).id), 201)
  })
})

describe("render jobs: an active subscription and RENDER_JOBS_PER_HOUR (counted in PostgreSQL)", () => {
  const render = (i: number, token: string, designId: DesignId) =>
    instance(i)(token).jobs.render({ params: { id: designId }, payload: { kind: i % 3 === 0 ? "pdf" : "render" } })

  it(`a burst of 10 renders and PDFs on two instances queues exactly ${RENDER_JOBS_PER_HOUR}, then 429 until the oldest is an hour old`, async () => {
    const user = await signUp()
    const design = await createDesign(user.token)
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => attempt(render(i, user.token, design.id))))
    expect(statusesOf(burst)).toEqual({ 202: RENDER_JOBS_PER_HOUR, 429: 10 - RENDER_JOBS_PER_HOUR })
    for (const refused of refusals(burst)) {
      expect(refused.error).toMatchObject({ _tag: "RenderRateLimited", code: "render_rate_limited", limit: RENDER_JOBS_PER_HOUR })
      expectRetryAfter(refused)
    }
    const jobs = await query<{ n: number }>("SELECT count(*)::int AS n FROM render_jobs WHERE owner_id = $1", [user.id])
    expect(jobs[0]!.n).toBe(RENDER_JOBS_PER_HOUR)
    const queued = await query<{ n: number }>("SELECT count(*)::int AS n FROM job_queue")
    expect(queued[0]!.n).toBeGreaterThanOrEqual(RENDER_JOBS_PER_HOUR)

    // The window slides: jobs requested 50 minutes ago leave it in 10 minutes.
    await query("UPDATE render_jobs SET created_at = now() - interval '50 minutes' WHERE owner_id = $1", [user.id])
    const waiting = await failsWithProblem(render(1, user.token, design.id), "RenderRateLimited", 429, "render_rate_limited")
    expect(waiting.error.retryAfter).toBeGreaterThan(590)
    expect(waiting.error.retryAfter).toBeLessThanOrEqual(600)
    expect(waiting.response.headers.get("retry-after")).toBe(String(waiting.error.retryAfter))
    expect(waiting.error.detail).toContain("RENDER_JOBS_PER_HOUR")

    // One of them over an hour old: room for exactly one more, even in a burst.
    await query(
      "UPDATE render_jobs SET created_at = now() - interval '61 minutes' WHERE id = (SELECT id FROM render_jobs WHERE owner_id = $1 ORDER BY created_at, id LIMIT 1)",
      [user.id]
    )
    const one = await Promise.all(Array.from({ length: 4 }, (_, i) => attempt(render(i, user.token, design.id))))
    expect(statusesOf(one)).toEqual({ 202: 1, 429: 3 })
    // All over an hour old: the whole budget again.
    await query("UPDATE render_jobs SET created_at = now() - interval '61 minutes' WHERE owner_id = $1", [user.id])
    const reset = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(render(i, user.token, design.id))))
    expect(statusesOf(reset)).toEqual({ 202: RENDER_JOBS_PER_HOUR, 429: 6 - RENDER_JOBS_PER_HOUR })

    // Per user.
    const other = await signUp()
    await ok(render(0, other.token, (await createDesign(other.token)).id), 202)
  })

  it("an inactive subscription cannot request renders (402 subscription_inactive) and queues nothing; reactivated, it can", async () => {
    const user = await signUp()
    const design = await createDesign(user.token)
    const service = onFirst({ serviceKey: SERVICE_KEY }).internal
    for (const status of ["past_due", "canceled", "incomplete"] as const) {
      await ok(service.setSubscription({ params: { userId: user.id }, payload: { plan: "pro", status } }), 200)
      for (const i of [0, 1]) {
        const refused = await failsWithProblem(render(i, user.token, design.id), "SubscriptionInactive", 402, "subscription_inactive")
        expect(refused.error.subscriptionStatus).toBe(status)
      }
    }
    const jobs = await query<{ n: number }>("SELECT count(*)::int AS n FROM render_jobs WHERE owner_id = $1", [user.id])
    expect(jobs[0]!.n).toBe(0)
    await ok(service.setSubscription({ params: { userId: user.id }, payload: { plan: "pro", status: "active" } }), 200)
    await ok(render(1, user.token, design.id), 202)
  })
})
