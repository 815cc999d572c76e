import { expect, it } from "vitest"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { twoInstances } from "../support/twoInstances.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/** Attacks on the one-statement writes (ADR 0021) at extreme values and in races on two instances. */

const { first, query, second } = twoInstances()
const instances = [typedClient(first), typedClient(second)] as const

const registered = async () =>
  (await ok(instances[0]().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "W" } })))

it("a version beyond what a design can reach is a stale one: 409 with the current version, not 503", async () => {
  const { tokens } = await registered()
  const api = instances[1](tokens.accessToken)
  const { id } = await ok(api.designs.create({ payload: { name: "V", productType: "mug", document: validDocument() } }))
  for (const version of [2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1]) {
    expect(await attempt(api.designs.update({ params: { id }, headers: {}, payload: { version, name: "X" } })), String(version))
      .toMatchObject({ status: 409, error: { currentVersion: 1 } })
  }
  expect(await attempt(api.designs.update({ params: { id }, headers: {}, payload: { version: 1, name: "X" } })))
    .toMatchObject({ status: 200, value: { version: 2, name: "X" } })
})

it("a design at the last version a version can hold is not updated past it, and says so as a client error", async () => {
  const { tokens } = await registered()
  const api = instances[0](tokens.accessToken)
  const { id } = await ok(api.designs.create({ payload: { name: "V", productType: "mug", document: validDocument() } }))
  await query((sql) => sql`UPDATE designs SET version = 2147483647 WHERE id = ${id}`)
  const outcome = await attempt(api.designs.update({ params: { id }, headers: {}, payload: { version: 2147483647, name: "X" } }))
  expect(outcome).toMatchObject({ status: 400, error: { _tag: "ValidationFailed", errors: [{ path: "version" }] } })
  const [row] = await query<{ readonly version: number; readonly name: string }>((sql) => sql`SELECT version, name FROM designs WHERE id = ${id}`)
  expect(row).toEqual({ version: 2147483647, name: "V" })
})

it("creates and duplicates racing the account's deletion on the other instance: each is 201 or a 4xx, nothing of the account remains", async () => {
  for (let round = 0; round < 5; round++) {
    const { tokens, user } = await registered()
    const [a, b] = [instances[0](tokens.accessToken), instances[1](tokens.accessToken)]
    const { id } = await ok(a.designs.create({ payload: { name: "O", productType: "mug", document: validDocument() } }))
    // The deletion checks the password first (bcrypt, tens of ms): writes are spread across it.
    const deletion = attempt(b.me.delete({ payload: { password: "correct horse battery" } }))
    const writes = Array.from({ length: 24 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 15))
      return i % 2 === 0
        ? attempt(a.designs.create({ payload: { name: "R", productType: "mug", document: validDocument() } }))
        : attempt(a.designs.duplicate({ params: { id } }))
    })
    const outcomes = [...await Promise.all(writes), await deletion]
    expect(outcomes.at(-1)!.status, JSON.stringify(outcomes.at(-1))).toBe(204)
    for (const outcome of outcomes.slice(0, -1)) expect([201, 401, 402, 404], JSON.stringify(outcome)).toContain(outcome.status)
    const left = await query<{ readonly n: number }>((sql) =>
      sql`SELECT (SELECT count(*) FROM designs WHERE owner_id = ${user.id})::int + (SELECT count(*) FROM design_usage WHERE user_id = ${user.id})::int AS n`)
    expect(left[0]?.n).toBe(0)
  }
})

it("an update racing a delete on the other instance: 200 then deleted, or 404; never resurrected, never 409", async () => {
  const { tokens } = await registered()
  const [a, b] = [instances[0](tokens.accessToken), instances[1](tokens.accessToken)]
  for (let round = 0; round < 8; round++) {
    const { id } = await ok(a.designs.create({ payload: { name: "U", productType: "mug", document: validDocument() } }))
    const [updated, deleted] = await Promise.all([
      attempt(a.designs.update({ params: { id }, headers: {}, payload: { version: 1, name: "Renamed", document: validDocument() } })),
      attempt(b.designs.delete({ params: { id } }))
    ])
    expect(deleted.status).toBe(204)
    expect([200, 404]).toContain(updated.status)
    expect(await attempt(a.designs.get({ params: { id } }))).toMatchObject({ status: 404 })
    const [row] = await query<{ readonly deleted: boolean }>((sql) => sql`SELECT deleted_at IS NOT NULL AS deleted FROM designs WHERE id = ${id}`)
    expect(row?.deleted).toBe(true)
  }
})

it("a plan change committed after the create read the subscription (a race; here its 30 s cached copy) decides the charge", async () => {
  const { tokens, user } = await registered()
  const api = instances[0](tokens.accessToken)
  const create = () => attempt(api.designs.create({ payload: { name: "P", productType: "mug", document: validDocument() } }))
  const used = async () =>
    (await query<{ readonly n: number }>((sql) => sql`SELECT designs_created AS n FROM design_usage WHERE user_id = ${user.id}`))[0]?.n
  // Starter (100); the create's lookup caches it; 50 used.
  await query((sql) => sql`UPDATE subscriptions SET plan_id = 'starter' WHERE user_id = ${user.id}`)
  expect(await create()).toMatchObject({ status: 201 })
  await query((sql) => sql`UPDATE design_usage SET designs_created = 50 WHERE user_id = ${user.id}`)
  // A downgrade to free (10) commits: nothing more is charged.
  await query((sql) => sql`UPDATE subscriptions SET plan_id = 'free' WHERE user_id = ${user.id}`)
  expect(await create()).toMatchObject({ status: 402, error: { _tag: "QuotaExceeded", limit: 10, used: 50 } })
  expect(await used()).toBe(50)
  // Back on starter, but canceled: nothing charged either.
  await query((sql) => sql`UPDATE subscriptions SET plan_id = 'starter', status = 'canceled' WHERE user_id = ${user.id}`)
  expect(await create()).toMatchObject({ status: 402, error: { _tag: "SubscriptionInactive" } })
  expect(await used()).toBe(50)
  // Upgraded to enterprise (unlimited) and active again: charged.
  await query((sql) => sql`UPDATE subscriptions SET plan_id = 'enterprise', status = 'active' WHERE user_id = ${user.id}`)
  expect(await create()).toMatchObject({ status: 201 })
  expect(await used()).toBe(51)
})
