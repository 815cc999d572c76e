import { Context, Effect, Layer, Redacted } from "effect"
import fc from "fast-check"
import { beforeAll, expect, it } from "vitest"
import { CacheStore, layerRedis } from "../../src/capabilities/cache/CacheStore.ts"
import { makeCacheGate } from "../support/cacheGate.ts"
import { client, type Sent, uniqueEmail, validDocument } from "../support/http.ts"
import { twoInstances } from "../support/twoInstances.ts"

/**
 * A model of one user's designs, checked with fast-check against two API instances over one
 * PostgreSQL and one Redis (as behind a load balancer): random sequences of creates, reads,
 * updates (current and stale versions), deletes and duplicates through either instance, pairs
 * of them at once on the two instances, and a read forced to cache a design only after a write
 * on the other instance answered. After every step, read straight from PostgreSQL:
 * the designs are the model's; every design reads the same through both instances as in the
 * database (a deleted one 404, never a cached copy), and so do the lists; the month's quota
 * counter (`design_usage`) equals the designs charged, which equals the rows inserted (deleted
 * ones included: deleting gives no quota back), and the usage endpoint says the same.
 *
 * Requests go through the raw client: ids are sent spelled as a generator says, which the typed
 * client's schemas might refuse.
 */

/** Ids in paths spelled in upper, lower and mixed case, all of which must agree. */
const RANDOM_ID_SPELLINGS = true

const PLAN_QUOTA = 10 // the free plan, every new account's

/** In the first instance's cache store: holds a read that is about to cache a design. */
const gate = makeCacheGate("design:")
const { first, query, redisUrl, scope, second } = twoInstances({ firstOverrides: gate.layer })
let redis: CacheStore["Service"]
const instances = [client(first), client(second)] as const

beforeAll(async () => {
  redis = Context.get(await Effect.runPromise(Layer.buildWithScope(layerRedis(Redacted.make(redisUrl())), scope)), CacheStore)
})

interface Row {
  readonly id: string
  readonly name: string
  readonly version: number
  readonly deleted: boolean
}
const rowsOf = (userId: string) =>
  query<Row>((sql) =>
    sql`SELECT id::text AS id, name, version, deleted_at IS NOT NULL AS deleted FROM designs WHERE owner_id = ${userId} ORDER BY id`)
const usageRowsOf = (userId: string) =>
  query<{ period: string; used: number }>((sql) =>
    sql`SELECT to_char(period_start, 'YYYY-MM-DD') AS period, designs_created AS used FROM design_usage WHERE user_id = ${userId}`)

interface ModelDesign {
  readonly id: string
  name: string
  version: number
  deleted: boolean
}
interface Model {
  readonly designs: Array<ModelDesign>
  /** Creates and duplicates that succeeded: each charged one design to the quota. */
  charged: number
}
interface Real {
  readonly token: string
  readonly userId: string
}

type Spelling = "lower" | "upper" | "mixed"
interface Spelled {
  readonly spelling: Spelling
  readonly mask: number
}
/** The id as a client might spell it; `mask` picks the mixed-case letters. */
const spell = (id: string, spelling: Spelling, mask: number) => {
  switch (spelling) {
    case "lower":
      return id.toLowerCase()
    case "upper":
      return id.toUpperCase()
    case "mixed":
      return [...id].map((c, i) => ((mask >>> (i % 31)) & 1) === 1 ? c.toUpperCase() : c.toLowerCase()).join("")
  }
}
const spellingArb: fc.Arbitrary<Spelled> = fc.record({
  spelling: RANDOM_ID_SPELLINGS ? fc.constantFrom<Spelling>("lower", "upper", "mixed") : fc.constant<Spelling>("lower"),
  mask: fc.nat()
})

/** One request a command sends, on the design the command picked. */
type Operation =
  | { readonly kind: "create"; readonly name: string }
  | { readonly kind: "read" }
  | { readonly kind: "update"; readonly name: string; readonly stale: boolean }
  | { readonly kind: "delete" }
  | { readonly kind: "duplicate" }

const nameArb = fc.string({ minLength: 1, maxLength: 20 }).filter((name) => name.trim() === name && name.trim().length > 0)
const operationArb: fc.Arbitrary<Operation> = fc.oneof(
  nameArb.map((name) => ({ kind: "create" as const, name })),
  fc.constant({ kind: "read" as const }),
  // One update in four sends the version before the current one.
  fc.record({ kind: fc.constant("update" as const), name: nameArb, stale: fc.nat(3).map((n) => n === 0) }),
  fc.constant({ kind: "delete" as const }),
  fc.constant({ kind: "duplicate" as const })
)

const send = (
  via: 0 | 1,
  real: Real,
  operation: Operation,
  target: ModelDesign | undefined,
  spelled: Spelled
): Promise<Sent> => {
  const api = instances[via]
  const token = real.token
  if (operation.kind === "create" || target === undefined) {
    const name = operation.kind === "create" ? operation.name : "Any"
    return api("POST", "/api/v1/designs", { token, body: { name, productType: "mug", document: validDocument() } })
  }
  const path = `/api/v1/designs/${spell(target.id, spelled.spelling, spelled.mask)}`
  switch (operation.kind) {
    case "read":
      return api("GET", path, { token })
    case "update":
      return api("PATCH", path, { token, body: { version: operation.stale ? target.version - 1 : target.version, name: operation.name } })
    case "delete":
      return api("DELETE", path, { token })
    case "duplicate":
      return api("POST", `${path}/duplicate`, { token })
  }
}

const copyName = (name: string) => `${name} (copy)`

/** With no design yet to act on, every command creates one. */
const onTarget = (operation: Operation, target: ModelDesign | undefined): Operation =>
  target === undefined && operation.kind !== "create" ? { kind: "create", name: "Any" } : operation

/** What one request alone, on the model's state, must answer; and the model after it. */
const expectAlone = (model: Model, operation: Operation, target: ModelDesign | undefined, sent: Sent, what: string) => {
  const gone = target === undefined || target.deleted
  const detail = `${what}: ${sent.status} ${sent.text}`
  switch (operation.kind) {
    case "create":
    case "duplicate": {
      if (operation.kind === "duplicate" && gone) return expect(sent.status, detail).toBe(404)
      if (model.charged >= PLAN_QUOTA) {
        expect(sent.status, detail).toBe(402)
        return expect(sent.body.code).toBe("quota_exceeded")
      }
      expect(sent.status, detail).toBe(201)
      const name = operation.kind === "create" ? operation.name : copyName(target!.name)
      expect(sent.body).toMatchObject({ name, version: 1, status: "draft" })
      model.designs.push({ id: sent.body.id, name, version: 1, deleted: false })
      model.charged++
      return
    }
    case "read": {
      if (gone) return expect(sent.status, detail).toBe(404)
      expect(sent.status, detail).toBe(200)
      return expect(sent.body).toMatchObject({ id: target!.id, name: target!.name, version: target!.version })
    }
    case "update": {
      const update = operation
      // Version 0 is not a version: refused as input, before the design is looked up.
      if (update.stale && target!.version === 1) return expect(sent.status, detail).toBe(400)
      if (gone) return expect(sent.status, detail).toBe(404)
      if (update.stale) return expect(sent.status, detail).toBe(409)
      expect(sent.status, detail).toBe(200)
      target!.version++
      target!.name = update.name
      return expect(sent.body).toMatchObject({ name: update.name, version: target!.version })
    }
    case "delete": {
      if (gone) return expect(sent.status, detail).toBe(404)
      expect(sent.status, detail).toBe(204)
      target!.deleted = true
      return
    }
  }
}

/** The invariants, against PostgreSQL, after every command. */
const checkAll = async (model: Model, real: Real) => {
  const rows = await rowsOf(real.userId)
  const expected = model.designs.map(({ deleted, id, name, version }) => ({ id, name, version, deleted }))
  expect(rows, "PostgreSQL holds the model's designs").toEqual([...expected].sort((a, b) => a.id < b.id ? -1 : 1))
  // The quota counter is the designs charged, which are the rows inserted (deleted ones too).
  const usage = await usageRowsOf(real.userId)
  expect(usage.reduce((sum, row) => sum + row.used, 0), "design_usage").toBe(model.charged)
  expect(rows.length).toBe(model.charged)
  for (const [via, api] of instances.entries()) {
    const reported = await api("GET", "/api/v1/subscriptions/me/usage", { token: real.token })
    expect(reported.status).toBe(200)
    const period = String(reported.body.periodStart).slice(0, 10)
    expect(reported.body.designsCreated, `usage via instance ${via}`).toBe(usage.find((row) => row.period === period)?.used ?? 0)
    // Every design reads as PostgreSQL has it, through each instance (a cached copy included).
    for (const row of rows) {
      const read = await api("GET", `/api/v1/designs/${row.id}`, { token: real.token })
      if (row.deleted) expect(read.status, `deleted ${row.id} via instance ${via}: ${read.text}`).toBe(404)
      else expect(read.body, `${row.id} via instance ${via}`).toMatchObject({ id: row.id, name: row.name, version: row.version })
    }
    const list = await api("GET", "/api/v1/designs?limit=100", { token: real.token })
    expect(list.body.data.map((d: { id: string }) => d.id).sort()).toEqual(rows.filter((r) => !r.deleted).map((r) => r.id))
  }
}

const pick = (model: Model, index: number) => model.designs.length === 0 ? undefined : model.designs[index % model.designs.length]

class Step implements fc.AsyncCommand<Model, Real> {
  readonly operation: Operation
  readonly index: number
  readonly via: 0 | 1
  readonly spelled: Spelled
  constructor(operation: Operation, index: number, via: 0 | 1, spelled: Spelled) {
    this.operation = operation
    this.index = index
    this.via = via
    this.spelled = spelled
  }
  check = () => true
  async run(model: Model, real: Real) {
    const target = pick(model, this.index)
    const operation = onTarget(this.operation, target)
    const sent = await send(this.via, real, operation, target, this.spelled)
    expectAlone(model, operation, target, sent, this.toString())
    await checkAll(model, real)
  }
  toString = () => `${this.operation.kind}(#${this.index}, via ${this.via}, ${this.spelled.spelling})`
}

/**
 * Two requests at once, one per instance, on the same design. Either order is a correct
 * outcome, so the answers are checked against both and the model is then read from PostgreSQL;
 * `checkAll` still holds the whole state to the invariants.
 */
class Pair implements fc.AsyncCommand<Model, Real> {
  readonly a: Operation
  readonly b: Operation
  readonly index: number
  readonly spelled: readonly [Spelled, Spelled]
  constructor(a: Operation, b: Operation, index: number, spelled: readonly [Spelled, Spelled]) {
    this.a = a
    this.b = b
    this.index = index
    this.spelled = spelled
  }
  check = () => true
  async run(model: Model, real: Real) {
    const target = pick(model, this.index)
    const before = target === undefined ? undefined : { ...target }
    const a = onTarget(this.a, target)
    const b = onTarget(this.b, target)
    const [sentA, sentB] = await Promise.all([send(0, real, a, target, this.spelled[0]), send(1, real, b, target, this.spelled[1])])
    const outcomes = [[a, sentA], [b, sentB]] as const
    for (const [operation, sent] of outcomes) {
      expect(sent.status, `${this.toString()}: ${sent.text}`).toBeLessThan(500)
      const allowed = {
        create: [201, 402],
        read: [200, 404],
        update: [200, 400, 404, 409],
        delete: [204, 404],
        duplicate: [201, 402, 404]
      }[operation.kind]
      expect(allowed, `${this.toString()}: ${operation.kind} answered ${sent.status} ${sent.text}`).toContain(sent.status)
      if (operation.kind === "read" && sent.status === 200) {
        // Before or after the other request, never anything else.
        expect([before!.version, before!.version + 1]).toContain(sent.body.version)
      }
    }
    const kinds = [a.kind, b.kind]
    if (target !== undefined && !before!.deleted) {
      if (kinds[0] === "delete" && kinds[1] === "delete") expect([sentA.status, sentB.status].sort()).toEqual([204, 404])
      const fresh = outcomes.filter(([o]) => o.kind === "update" && !o.stale)
      if (fresh.length === 2) expect(fresh.map(([, s]) => s.status).filter((s) => s === 200)).toHaveLength(1)
    }
    // Charged: every 201 of a create or duplicate, and never beyond the plan.
    const created = outcomes.filter(([, sent]) => sent.status === 201)
    for (const [, sent] of created) {
      model.designs.push({ id: sent.body.id, name: sent.body.name, version: 1, deleted: false })
    }
    model.charged += created.length
    expect(model.charged).toBeLessThanOrEqual(PLAN_QUOTA)
    const rows = new Map((await rowsOf(real.userId)).map((row) => [row.id, row]))
    for (const design of model.designs) {
      const row = rows.get(design.id)
      if (row === undefined) throw new Error(`${design.id} answered 201 but is not in PostgreSQL`)
      design.name = row.name
      design.version = row.version
      design.deleted = row.deleted
    }
    await checkAll(model, real)
  }
  toString = () => `pair(${this.a.kind} via 0 ∥ ${this.b.kind} via 1, #${this.index})`
}

/**
 * A read racing a write, in the order that used to resurrect: the design's cache entry is gone
 * (expired), a read through the first instance loads it from PostgreSQL and stops just before
 * caching it; a write through the second commits and answers; then the read goes on. The read
 * began first, so it may answer the old design; every read after the write must not.
 */
class ReadRacingWrite implements fc.AsyncCommand<Model, Real> {
  readonly write: Operation
  readonly index: number
  constructor(write: Operation, index: number) {
    this.write = write
    this.index = index
  }
  check = (model: Readonly<Model>) => model.designs.length > 0
  async run(model: Model, real: Real) {
    const target = pick(model, this.index)!
    const before = { ...target }
    await Effect.runPromise(redis.delete(`design:v1:${target.id}`))
    const gated = gate.arm()
    const reading = instances[0]("GET", `/api/v1/designs/${target.id}`, { token: real.token })
    await Promise.race([gated.reached, reading]) // a deleted design is not cached: nothing to hold
    const sent = await send(1, real, this.write, target, { spelling: "lower", mask: 0 })
    expectAlone(model, this.write, target, sent, this.toString())
    gated.release()
    const read = await reading
    if (before.deleted) expect(read.status).toBe(404)
    else expect(read.body).toMatchObject({ id: before.id, version: before.version, name: before.name })
    await checkAll(model, real)
  }
  toString = () => `readRacingWrite(${this.write.kind} via 1, #${this.index})`
}

const indexArb = fc.nat(15)
const via = fc.constantFrom<0 | 1>(0, 1)
const commands = fc.commands([
  fc.tuple(operationArb, indexArb, via, spellingArb).map(([o, i, v, s]) => new Step(o, i, v, s)),
  fc.tuple(operationArb, operationArb, indexArb, spellingArb, spellingArb).map(([a, b, i, s, t]) => new Pair(a, b, i, [s, t])),
  fc.tuple(operationArb.filter((o) => o.kind !== "read" && o.kind !== "create"), indexArb).map(([w, i]) => new ReadRacingWrite(w, i))
], { maxCommands: 24 })

it("the designs life cycle on two instances keeps reads, PostgreSQL and the quota in agreement", async () => {
  await fc.assert(
    fc.asyncProperty(commands, async (sequence) => {
      const registered = await instances[0]("POST", "/api/v1/auth/register", {
        body: { email: uniqueEmail(), password: "correct horse battery", fullName: "Model" }
      })
      expect(registered.status).toBe(201)
      const real: Real = { token: registered.body.tokens.accessToken, userId: registered.body.user.id }
      await fc.asyncModelRun(() => ({ model: { designs: [], charged: 0 }, real }), sequence)
    }),
    { numRuns: 40 }
  )
}, 300_000)
