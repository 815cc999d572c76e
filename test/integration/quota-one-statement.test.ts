import fc from "fast-check"
import { expect, it } from "vitest"
import type { DesignId } from "../../src/domain/Design.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { twoInstances } from "../support/twoInstances.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * The one-statement charge (ADR 0021) at the edge of the quota: one owner's creates, duplicates
 * and deletes, in random batches fired at once across two API instances over one PostgreSQL,
 * starting a few designs short of the free plan's 10. Whatever the interleaving: the quota lets
 * through exactly what is left and never more, every refusal says the month is spent, the
 * counter equals the designs charged, which equals the rows inserted (deleted ones included),
 * and each design is deleted by exactly one of the deletes aimed at it.
 */

const PLAN_QUOTA = 10

const { first, query, second } = twoInstances()
const instances = [typedClient(first), typedClient(second)] as const

type Op =
  | { readonly kind: "create"; readonly via: 0 | 1 }
  /** Of the design created `of` places back (0: the latest), including this run's copies. */
  | { readonly kind: "duplicate" | "delete"; readonly via: 0 | 1; readonly of: number }

const via = fc.constantFrom<0 | 1>(0, 1)
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("create" as const), via }),
  fc.record({ kind: fc.constantFrom("duplicate" as const, "delete" as const), via, of: fc.nat({ max: 3 }) })
)

const scenario = fc.record({
  /** Designs left in the month when the batches start. */
  left: fc.integer({ min: 0, max: 4 }),
  batches: fc.array(fc.array(op, { minLength: 2, maxLength: 8 }), { minLength: 1, maxLength: 3 })
})

it("charges exactly what is left of the quota and never more, however creates, duplicates and deletes interleave on two instances", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ batches, left }) => {
      const { tokens, user } = await ok(
        instances[0]().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Q" } })
      )
      const api = (i: 0 | 1) => instances[i](tokens.accessToken)
      // Two real designs to duplicate and delete; the rest of the month's count is spent in SQL.
      const designs = [
        (await ok(api(0).designs.create({ payload: { name: "A", productType: "mug", document: validDocument() } }))).id,
        (await ok(api(1).designs.create({ payload: { name: "B", productType: "mug", document: validDocument() } }))).id
      ]
      const preset = PLAN_QUOTA - 2 - left
      await query((sql) => sql`UPDATE design_usage SET designs_created = designs_created + ${preset} WHERE user_id = ${user.id}`)

      let charged = 0
      let refused = 0
      const deletedBy = new Map<string, number>()
      for (const batch of batches) {
        const targets = batch.map((o) => o.kind === "create" ? undefined : designs[Math.max(0, designs.length - 1 - o.of)]!)
        const outcomes = await Promise.all(batch.map((o, i) => {
          const id = targets[i]!
          switch (o.kind) {
            case "create":
              return attempt(api(o.via).designs.create({ payload: { name: "C", productType: "mug", document: validDocument() } }))
            case "duplicate":
              return attempt(api(o.via).designs.duplicate({ params: { id } }))
            case "delete":
              return attempt(api(o.via).designs.delete({ params: { id } }))
          }
        }))
        outcomes.forEach((outcome, i) => {
          const o = batch[i]!
          if (o.kind === "delete") {
            expect([204, 404], "delete").toContain(outcome.status)
            if (outcome.status === 204) deletedBy.set(targets[i]!, (deletedBy.get(targets[i]!) ?? 0) + 1)
            return
          }
          if (outcome._tag === "Success") {
            expect(outcome.status).toBe(201)
            charged++
            designs.push((outcome.value as { readonly id: DesignId }).id)
          } else if (outcome.status === 402) {
            refused++
            expect(outcome.error).toMatchObject({ _tag: "QuotaExceeded", limit: PLAN_QUOTA, used: PLAN_QUOTA })
          } else {
            // Only a duplicate of a design deleted earlier (in this batch or before) may be missing.
            expect(o.kind, `${o.kind} answered ${outcome.status}`).toBe("duplicate")
            expect(outcome.status).toBe(404)
          }
        })
      }

      // Exactly what was left, and all of it once anything was refused.
      expect(charged).toBeLessThanOrEqual(left)
      if (refused > 0) expect(charged).toBe(left)
      const [usage] = await query<{ readonly used: number }>((sql) =>
        sql`SELECT designs_created AS used FROM design_usage WHERE user_id = ${user.id}`)
      expect(usage?.used, "design_usage").toBe(preset + 2 + charged)
      const rows = await query<{ readonly id: string; readonly deleted: boolean }>((sql) =>
        sql`SELECT id::text AS id, deleted_at IS NOT NULL AS deleted FROM designs WHERE owner_id = ${user.id}`)
      expect(rows, "rows inserted").toHaveLength(2 + charged)
      expect(new Set(rows.map((row) => row.id))).toEqual(new Set(designs))
      // Each deleted design by exactly one delete; every other one still live.
      for (const row of rows) expect(deletedBy.get(row.id) ?? 0, row.id).toBe(row.deleted ? 1 : 0)
      const reported = await ok(api(1).subscriptions.usage())
      expect(reported).toMatchObject({ designsCreated: preset + 2 + charged, designsLimit: PLAN_QUOTA })
    }),
    { numRuns: 20 }
  )
}, 240_000)

/** A canvas `width` x `height` mm: 100 x 100 fits a poster (and a sticker) but not a phone case. */
const documentMm = (width: number, height: number) => ({
  ...validDocument(),
  canvas: { width, height, unit: "mm" as const, dpi: 300, background: null }
})

it("an update is one guarded statement: a canvas its product cannot print, a stale version or someone else's design change nothing", async () => {
  const register = async () =>
    (await ok(instances[0]().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "U" } })))
      .tokens.accessToken
  const [owner, intruder] = [instances[0](await register()), instances[1](await register())]
  const { id } = await ok(owner.designs.create({ payload: { name: "Case", productType: "phone-case", document: validDocument() } }))
  const update = (as: typeof owner, version: number, document: ReturnType<typeof documentMm>) =>
    attempt(as.designs.update({ params: { id }, headers: {}, payload: { version, document } }))

  // Fits other products but not this one: refused by the statement's product condition, and
  // reported as invalid before the stale version is.
  for (const version of [1, 5]) {
    expect(await update(owner, version, documentMm(100, 100))).toMatchObject({ status: 400, error: { _tag: "ValidationFailed", errors: [{ path: "document.canvas.width" }] } })
  }
  expect(await update(intruder, 1, documentMm(70, 140))).toMatchObject({ status: 404, error: { _tag: "NotFound" } })
  expect(await update(owner, 5, documentMm(70, 140))).toMatchObject({ status: 409, error: { currentVersion: 1 } })
  const [row] = await query<{ readonly version: number; readonly width: number }>((sql) =>
    sql`SELECT version, (document->'canvas'->>'width')::int AS width FROM designs WHERE id = ${id}`)
  expect(row).toEqual({ version: 1, width: 800 })
  expect(await update(owner, 1, documentMm(70, 140))).toMatchObject({ status: 200, value: { version: 2 } })
})

it("a refusal reports the month's count as the charge saw it, above the limit after a downgrade, without a second query", async () => {
  const { tokens, user } = await ok(
    instances[0]().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "D" } })
  )
  const create = () =>
    attempt(instances[1](tokens.accessToken).designs.create({ payload: { name: "D", productType: "mug", document: validDocument() } }))
  expect(await create()).toMatchObject({ status: 201 })
  // 13 created this month on a bigger plan, then back on free.
  await query((sql) => sql`UPDATE design_usage SET designs_created = 13 WHERE user_id = ${user.id}`)
  expect(await create()).toMatchObject({ status: 402, error: { _tag: "QuotaExceeded", limit: PLAN_QUOTA, used: 13 } })
  const [usage] = await query<{ readonly used: number }>((sql) => sql`SELECT designs_created AS used FROM design_usage WHERE user_id = ${user.id}`)
  expect(usage?.used).toBe(13)
})
