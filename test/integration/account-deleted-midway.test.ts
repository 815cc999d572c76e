import { PgClient } from "@effect/sql-pg"
import { Deferred, Effect, Fiber, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { validDocument } from "../support/http.ts"
import { securityHarness, type Sent } from "../support/security.ts"
import { ok } from "../support/typedClient.ts"

/**
 * a request that counts against a per-user limit locks the owner's row
 * (`SELECT 1 FROM users … FOR NO KEY UPDATE`) and ignores that the row may be gone. An account
 * deletion that commits while the request waits on that lock (the user deletes the account on one
 * device while another uploads, renders or creates) leaves the request to insert rows pointing at
 * a deleted user: a foreign-key violation, which `orUnavailable` turns into a defect, 500.
 * Reproduced with the deletion's own steps (lock the user, delete it) in a transaction held open.
 */
const h = securityHarness(process.env["REVIEW_LOG"] ? { config: { logLevel: "Error" } } : {})
beforeAll(h.start)
afterAll(h.stop)

/** Locks the user as account deletion does, runs `during` while holding it, then deletes and commits. */
const deletedWhile = async (userId: string, during: () => Promise<Sent>): Promise<Sent> => {
  const locked = Effect.runSync(Deferred.make<void>())
  const proceed = Effect.runSync(Deferred.make<void>())
  const deletion = Effect.runFork(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`SELECT 1 FROM users WHERE id = ${userId} FOR UPDATE`
      yield* Deferred.succeed(locked, undefined)
      yield* Deferred.await(proceed)
      yield* sql`DELETE FROM users WHERE id = ${userId}`
    }))
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(h.databaseUrl()), maxConnections: 1 }))))
  await Effect.runPromise(Deferred.await(locked))
  const answer = during()
  // Until the request waits on the user's row lock.
  for (let i = 0; i < 100; i++) {
    const waiting = await h.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
    if (waiting[0]!.n > 0) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  Effect.runSync(Deferred.succeed(proceed, undefined))
  await Effect.runPromise(Fiber.join(deletion))
  return answer
}

describe("an account deleted while one of its requests waits on its row", () => {
  it("an upload request answers 404, not 500", async () => {
    const user = await h.signUp()
    const design = await ok(h.api(user.token).designs.create({ payload: { name: "Mug", productType: "mug", document: validDocument() } }), 201)
    const answer = await deletedWhile(user.id, () =>
      h.call("POST", `/api/v1/designs/${design.id}/assets`, { token: user.token, body: { fileName: "a.png", contentType: "image/png", byteSize: 68 } }))
    expect(answer.status, answer.text).toBeLessThan(500)
  })

  it("a render request answers 404, not 500", async () => {
    const user = await h.signUp()
    const design = await ok(h.api(user.token).designs.create({ payload: { name: "Mug", productType: "mug", document: validDocument() } }), 201)
    const answer = await deletedWhile(user.id, () =>
      h.call("POST", `/api/v1/designs/${design.id}/render`, { token: user.token, body: { kind: "render" } }))
    expect(answer.status, answer.text).toBeLessThan(500)
  })

  it("a design creation answers a 4xx, not 500", async () => {
    const user = await h.signUp()
    const answer = await deletedWhile(user.id, () =>
      h.call("POST", "/api/v1/designs", { token: user.token, body: { name: "Mug", productType: "mug", document: validDocument() } }))
    expect(answer.status, answer.text).toBeLessThan(500)
  })
})
