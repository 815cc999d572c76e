import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, failsWithProblem, ok, type Outcome, typedClient } from "../support/typedClient.ts"

/**
 * Every per-user resource bound, on two instances over one real PostgreSQL and one real Redis:
 * parallel bursts split across the instances meet each limit exactly, and the refusals are the
 * documented problems (status, code, `limit`, Retry-After for the 429s).
 */
const SIMILAR_SEARCHES_PER_HOUR = 5

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
    config: { dataDir },
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
