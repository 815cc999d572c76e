import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>

/** Two hashes may wait beyond the running ones, each holding a thread for about 250 ms (cost 12). */
const QUEUE = 2

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config: { passwordHashQueue: QUEUE, bcryptCost: 12 } })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const api = typedClient(() => app)
const PASSWORD = "correct horse battery"

describe("password hashing under a flood", () => {
  it("answers 503 busy with Retry-After beyond the queue, and the admitted requests succeed", async () => {
    const emails = Array.from({ length: 16 }, (_, i) => `flood${Date.now()}x${i}@example.com`)
    const outcomes = await Promise.all(emails.map((email) =>
      attempt(api().auth.register({ payload: { email, password: PASSWORD, fullName: "Flood" } }))))

    const admitted = outcomes.flatMap((outcome, i) => outcome._tag === "Success" ? [{ outcome, email: emails[i]! }] : [])
    const refused = outcomes.filter((outcome) => outcome._tag === "Failure")
    expect(admitted.length + refused.length).toBe(emails.length)
    expect(admitted.length).toBeGreaterThanOrEqual(1)
    expect(refused.length).toBeGreaterThanOrEqual(1)

    for (const { outcome } of admitted) expect(outcome.status).toBe(201)
    for (const outcome of refused) {
      // The typed client decoded the declared problem, nothing else.
      expect(outcome.error).toMatchObject({ _tag: "Busy", status: 503, code: "busy" })
      expect(outcome.status).toBe(503)
      expect(outcome.response?.headers.get("content-type")).toContain("application/problem+json")
      expect(Number(outcome.response?.headers.get("retry-after"))).toBeGreaterThan(0)
      expect(JSON.parse(outcome.response!.text)).toMatchObject({
        type: "urn:customify:problem:busy",
        title: "The server is busy; retry shortly",
        status: 503,
        code: "busy",
        requestId: outcome.response?.headers.get("x-request-id")
      })
    }

    // The admitted ones really registered: each signs in with its password, once the flood is over.
    for (const { email } of admitted) {
      const signedIn = await ok(api().auth.login({ payload: { email, password: PASSWORD } }))
      expect(signedIn.user.email).toBe(email)
    }
    // The refused ones left no account behind: they can register now.
    const refusedEmail = emails[outcomes.findIndex((outcome) => outcome._tag === "Failure")]!
    await ok(api().auth.register({ payload: { email: refusedEmail, password: PASSWORD, fullName: "Flood" } }), 201)
  })
})
