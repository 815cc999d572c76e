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
