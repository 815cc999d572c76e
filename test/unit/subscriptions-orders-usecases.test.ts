import { randomUUID } from "node:crypto"
import { describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import type { DesignId } from "../../src/domain/Design.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { Order, OrderId, OrderWrite } from "../../src/domain/Order.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import type { PlanId, SubscriptionStatus } from "../../src/domain/Subscription.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Designs from "../../src/features/designs/Designs.ts"
import * as Orders from "../../src/features/orders/Orders.ts"
import * as Subscriptions from "../../src/features/subscriptions/Subscriptions.ts"
import { validDocument } from "../support/http.ts"
import { memoryLayer } from "../support/memory.ts"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const DOCUMENT: DesignDocument = validDocument()

const newActor = (): Actor => ({ userId: randomUUID() as UserId, role: "user", sessionId: "s".repeat(22) })

const subscriber = (plan: PlanId = "free", status: SubscriptionStatus = "active") =>
  Effect.gen(function*() {
    const actor = newActor()
    yield* Subscriptions.setSubscription(actor.userId, plan, status)
    return actor
  })

const create = (actor: Actor, name = "Design") =>
  Designs.createDesign(actor, { name, productType: "t-shirt", document: DOCUMENT })

const createMany = (actor: Actor, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => create(actor, `Design ${i}`))

const orderFor = (userId: UserId, overrides: Partial<OrderWrite> = {}): OrderWrite => ({
  userId,
  designId: null,
  status: "pending",
  quantity: 1,
  totalCents: 2_500,
  currency: "EUR",
  ...overrides
})

/** Every page of the caller's orders, following nextCursor. */
const listAllOrders = (actor: Actor, limit: number) =>
  Effect.gen(function*() {
    const pages: Array<ReadonlyArray<Order>> = []
    let cursor: string | undefined = undefined
    for (let guard = 0; guard < 100; guard++) {
      const page: { readonly data: ReadonlyArray<Order>; readonly nextCursor: string | null } = yield* Orders
        .listOrders(actor, { limit, ...(cursor === undefined ? {} : { cursor }) })
      pages.push(page.data)
      if (page.nextCursor === null) break
      cursor = page.nextCursor
    }
    return pages
  })

// ---------------------------------------------------------------------------------------------
// getSubscription
// ---------------------------------------------------------------------------------------------

describe("getSubscription", () => {
  it.effect("returns plan, status, the current calendar month (UTC) and the plan's limits", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 1, 14, 18, 45))
      const actor = yield* subscriber("starter", "past_due")
      expect(yield* Subscriptions.getSubscription(actor)).toEqual({
        plan: "starter",
        status: "past_due",
        currentPeriodStart: new Date("2025-02-01T00:00:00.000Z"),
        currentPeriodEnd: new Date("2025-03-01T00:00:00.000Z"),
        limits: { designsPerMonth: 100 }
      })
      const subscription = Option.getOrThrow(yield* (yield* Subscriptions.SubscriptionLookup).forUser(actor.userId))
      expect(subscription.userId).toBe(actor.userId)
      expect(subscription.plan).toEqual({ id: "starter", name: "Starter", monthlyDesignQuota: 100 })
      expect(subscription.createdAt.toISOString()).toBe("2025-02-14T18:45:00.000Z")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("the period follows the clock, including over a year end", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const at0 = yield* Subscriptions.getSubscription(actor)
      expect(at0.currentPeriodStart.toISOString()).toBe("1970-01-01T00:00:00.000Z")
      expect(at0.currentPeriodEnd.toISOString()).toBe("1970-02-01T00:00:00.000Z")
      yield* TestClock.setTime(Date.UTC(2024, 11, 31, 23, 59, 59))
      const december = yield* Subscriptions.getSubscription(actor)
      expect(december.currentPeriodStart.toISOString()).toBe("2024-12-01T00:00:00.000Z")
      expect(december.currentPeriodEnd.toISOString()).toBe("2025-01-01T00:00:00.000Z")
      yield* TestClock.adjust(Duration.seconds(1))
      const january = yield* Subscriptions.getSubscription(actor)
      expect(january.currentPeriodStart.toISOString()).toBe("2025-01-01T00:00:00.000Z")
      expect(january.currentPeriodEnd.toISOString()).toBe("2025-02-01T00:00:00.000Z")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a user without a subscription gets SubscriptionNotFound from every read", () =>
    Effect.gen(function*() {
      const actor = newActor()
      expect((yield* Effect.flip(Subscriptions.getSubscription(actor)))._tag).toBe("SubscriptionNotFound")
      expect((yield* Effect.flip(Subscriptions.getUsage(actor)))._tag).toBe("SubscriptionNotFound")
      expect((yield* Effect.flip(Subscriptions.getQuota(actor)))._tag).toBe("SubscriptionNotFound")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("setSubscription answers the new terms, keeps createdAt and moves updatedAt", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("free")
      yield* TestClock.adjust(Duration.days(3))
      const updated = yield* Subscriptions.setSubscription(actor.userId, "pro", "active")
      expect(updated).toMatchObject({ plan: "pro", status: "active", limits: { designsPerMonth: 1_000 } })
      const stored = Option.getOrThrow(yield* (yield* Subscriptions.SubscriptionLookup).forUser(actor.userId))
      expect(stored.createdAt.getTime()).toBe(0)
      expect(stored.updatedAt.getTime()).toBe(Duration.toMillis(Duration.days(3)))
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// getUsage / getQuota
// ---------------------------------------------------------------------------------------------

describe("getUsage", () => {
  it.effect("counts this month's creates against the plan's limit", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 5, 10))
      const actor = yield* subscriber("free")
      const empty = yield* Subscriptions.getUsage(actor)
      expect(empty).toMatchObject({ designsCreated: 0, designsLimit: 10, remaining: 10 })
      expect(empty.periodStart.toISOString()).toBe("2025-06-01T00:00:00.000Z")
      expect(empty.periodEnd.toISOString()).toBe("2025-07-01T00:00:00.000Z")

      yield* createMany(actor, 3)
      expect(yield* Subscriptions.getUsage(actor)).toMatchObject({ designsCreated: 3, designsLimit: 10, remaining: 7 })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("counts duplicates, keeps counting deleted designs, and ignores refused creates", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("free")
      const [first] = yield* createMany(actor, 2)
      yield* Designs.duplicateDesign(actor, first!.id)
      yield* Designs.deleteDesign(actor, first!.id)
      yield* Effect.flip(Designs.createDesign(actor, { name: "x", productType: "nope", document: DOCUMENT }))
      expect(yield* Subscriptions.getUsage(actor)).toMatchObject({ designsCreated: 3, remaining: 7 })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("counts only the caller's creates", () =>
    Effect.gen(function*() {
      const alice = yield* subscriber("free")
      const bob = yield* subscriber("free")
      yield* createMany(alice, 4)
      yield* createMany(bob, 1)
      expect((yield* Subscriptions.getUsage(alice)).designsCreated).toBe(4)
      expect((yield* Subscriptions.getUsage(bob)).designsCreated).toBe(1)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("starts again at 0 in a new month", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 0, 31, 23, 59))
      const actor = yield* subscriber("free")
      yield* createMany(actor, 10)
      expect(yield* Subscriptions.getUsage(actor)).toMatchObject({ designsCreated: 10, remaining: 0 })
      yield* TestClock.setTime(Date.UTC(2025, 1, 1))
      const february = yield* Subscriptions.getUsage(actor)
      expect(february).toMatchObject({ designsCreated: 0, designsLimit: 10, remaining: 10 })
      expect(february.periodStart.toISOString()).toBe("2025-02-01T00:00:00.000Z")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("enterprise has no limit: designsLimit and remaining are null", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("enterprise")
      yield* createMany(actor, 12)
      expect(yield* Subscriptions.getUsage(actor)).toMatchObject({
        designsCreated: 12,
        designsLimit: null,
        remaining: null
      })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("remaining never goes below 0 after a downgrade", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("starter")
      yield* createMany(actor, 15)
      yield* Subscriptions.setSubscription(actor.userId, "free", "active")
      expect(yield* Subscriptions.getUsage(actor)).toMatchObject({ designsCreated: 15, designsLimit: 10, remaining: 0 })
      expect(yield* Subscriptions.getQuota(actor)).toMatchObject({ allowed: false, remaining: 0 })
      expect(yield* Effect.flip(create(actor))).toMatchObject({ _tag: "QuotaExceeded", limit: 10, used: 15 })
    }).pipe(Effect.provide(memoryLayer())))
})

describe("getQuota", () => {
  it.effect("allowed until the limit, then not; resetsAt is the end of the month", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 3, 30, 12))
      const actor = yield* subscriber("free")
      expect(yield* Subscriptions.getQuota(actor)).toEqual({
        allowed: true,
        remaining: 10,
        resetsAt: new Date(Date.UTC(2025, 4, 1))
      })
      yield* createMany(actor, 9)
      expect(yield* Subscriptions.getQuota(actor)).toMatchObject({ allowed: true, remaining: 1 })
      yield* create(actor)
      expect(yield* Subscriptions.getQuota(actor)).toEqual({
        allowed: false,
        remaining: 0,
        resetsAt: new Date(Date.UTC(2025, 4, 1))
      })
      // getQuota agrees with what createDesign does.
      expect((yield* Effect.flip(create(actor)))._tag).toBe("QuotaExceeded")
    }).pipe(Effect.provide(memoryLayer())))

  for (const status of ["past_due", "canceled", "incomplete"] as const) {
    it.effect(`not allowed for a ${status} subscription, even with quota left`, () =>
      Effect.gen(function*() {
        const actor = yield* subscriber("pro", status)
        const quota = yield* Subscriptions.getQuota(actor)
        expect(quota.allowed).toBe(false)
        expect(quota.remaining).toBe(1_000)
        expect((yield* Effect.flip(create(actor)))._tag).toBe("SubscriptionInactive")
      }).pipe(Effect.provide(memoryLayer())))
  }

  it.effect("enterprise: always allowed, remaining null", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("enterprise")
      yield* createMany(actor, 20)
      const quota = yield* Subscriptions.getQuota(actor)
      expect(quota.allowed).toBe(true)
      expect(quota.remaining).toBeNull()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an inactive enterprise subscription is not allowed", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("enterprise", "canceled")
      expect(yield* Subscriptions.getQuota(actor)).toMatchObject({ allowed: false, remaining: null })
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// setSubscription takes effect at once (through the cached lookup)
// ---------------------------------------------------------------------------------------------

describe("setSubscription", () => {
  it.effect("an upgrade is effective at once: 10 on free, upgrade to starter, the 11th succeeds", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("free")
      yield* createMany(actor, 10)
      // Warm every cached read of the subscription.
      expect((yield* Subscriptions.getQuota(actor)).allowed).toBe(false)
      expect((yield* Effect.flip(create(actor)))._tag).toBe("QuotaExceeded")

      const updated = yield* Subscriptions.setSubscription(actor.userId, "starter", "active")
      expect(updated.plan).toBe("starter")
      // No time passes: the cache must not serve the old plan.
      expect((yield* Subscriptions.getSubscription(actor)).plan).toBe("starter")
      expect(yield* Subscriptions.getUsage(actor)).toMatchObject({ designsCreated: 10, designsLimit: 100, remaining: 90 })
      expect((yield* Subscriptions.getQuota(actor)).allowed).toBe(true)
      const eleventh = yield* create(actor, "Eleventh")
      expect(eleventh.name).toBe("Eleventh")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a status change is effective at once, both ways", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("pro", "active")
      yield* create(actor)
      yield* Subscriptions.setSubscription(actor.userId, "pro", "canceled")
      expect((yield* Subscriptions.getSubscription(actor)).status).toBe("canceled")
      expect(yield* Effect.flip(create(actor))).toMatchObject({ _tag: "SubscriptionInactive", status: "canceled" })
      yield* Subscriptions.setSubscription(actor.userId, "pro", "active")
      yield* create(actor)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a first subscription is effective at once after a refused create", () =>
    Effect.gen(function*() {
      const actor = newActor()
      expect(yield* Effect.flip(create(actor))).toMatchObject({ _tag: "SubscriptionInactive", status: "none" })
      yield* Subscriptions.setSubscription(actor.userId, "free", "active")
      yield* create(actor)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a downgrade to enterprise → free is effective at once", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("enterprise")
      yield* createMany(actor, 10)
      yield* Subscriptions.setSubscription(actor.userId, "free", "active")
      expect(yield* Effect.flip(create(actor))).toMatchObject({ _tag: "QuotaExceeded", limit: 10, used: 10 })
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

describe("upsertOrder", () => {
  it.effect("is idempotent by external id: one order, created then updated", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const designId = randomUUID() as DesignId
      yield* TestClock.setTime(Date.UTC(2025, 6, 1, 10))
      const first = yield* Orders.upsertOrder("shopify:1001", orderFor(actor.userId))
      expect(first.created).toBe(true)
      expect(first.order).toMatchObject({
        externalId: "shopify:1001",
        userId: actor.userId,
        designId: null,
        status: "pending",
        quantity: 1,
        totalCents: 2_500,
        currency: "EUR"
      })
      expect(first.order.createdAt.toISOString()).toBe("2025-07-01T10:00:00.000Z")

      yield* TestClock.adjust(Duration.hours(2))
      const second = yield* Orders.upsertOrder(
        "shopify:1001",
        orderFor(actor.userId, { designId, status: "paid", quantity: 3, totalCents: 7_500, currency: "USD" })
      )
      expect(second.created).toBe(false)
      expect(second.order.id).toBe(first.order.id)
      expect(second.order).toMatchObject({
        externalId: "shopify:1001",
        designId,
        status: "paid",
        quantity: 3,
        totalCents: 7_500,
        currency: "USD"
      })
      expect(second.order.createdAt.getTime()).toBe(first.order.createdAt.getTime())
      expect(second.order.updatedAt.toISOString()).toBe("2025-07-01T12:00:00.000Z")

      // One order, with the latest fields.
      const page = yield* Orders.listOrders(actor, {})
      expect(page.data).toHaveLength(1)
      expect(page.data[0]).toEqual(second.order)
      expect(yield* Orders.getOrder(actor, first.order.id)).toEqual(second.order)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a replayed identical delivery changes nothing but reports created: false", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const write = orderFor(actor.userId, { status: "shipped" })
      const first = yield* Orders.upsertOrder("etsy:9", write)
      const replay = yield* Orders.upsertOrder("etsy:9", write)
      expect(replay.created).toBe(false)
      expect(replay.order).toEqual(first.order)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("different external ids are different orders", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const a = yield* Orders.upsertOrder("shopify:1", orderFor(actor.userId))
      const b = yield* Orders.upsertOrder("shopify:2", orderFor(actor.userId))
      expect(a.created && b.created).toBe(true)
      expect(a.order.id).not.toBe(b.order.id)
      expect((yield* Orders.listOrders(actor, {})).data).toHaveLength(2)
    }).pipe(Effect.provide(memoryLayer())))
})

describe("listOrders", () => {
  it.effect("returns only the caller's orders, newest first", () =>
    Effect.gen(function*() {
      const alice = newActor()
      const bob = newActor()
      for (let i = 0; i < 3; i++) {
        yield* Orders.upsertOrder(`alice:${i}`, orderFor(alice.userId, { quantity: i + 1 }))
        yield* Orders.upsertOrder(`bob:${i}`, orderFor(bob.userId))
        yield* TestClock.adjust(Duration.minutes(1))
      }
      const page = yield* Orders.listOrders(alice, {})
      expect(page.data.map((o) => o.externalId)).toEqual(["alice:2", "alice:1", "alice:0"])
      expect(page.data.every((o) => o.userId === alice.userId)).toBe(true)
      expect(page.nextCursor).toBeNull()
      expect((yield* Orders.listOrders(newActor(), {})).data).toHaveLength(0)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an update does not move an order in the list (sorted by creation)", () =>
    Effect.gen(function*() {
      const actor = newActor()
      yield* Orders.upsertOrder("o:old", orderFor(actor.userId))
      yield* TestClock.adjust(Duration.minutes(1))
      yield* Orders.upsertOrder("o:new", orderFor(actor.userId))
      yield* TestClock.adjust(Duration.minutes(1))
      yield* Orders.upsertOrder("o:old", orderFor(actor.userId, { status: "paid" }))
      const page = yield* Orders.listOrders(actor, {})
      expect(page.data.map((o) => o.externalId)).toEqual(["o:new", "o:old"])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("limit + nextCursor visits every order exactly once, in order", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const other = newActor()
      for (let i = 0; i < 7; i++) {
        yield* Orders.upsertOrder(`o:${i}`, orderFor(actor.userId))
        yield* Orders.upsertOrder(`x:${i}`, orderFor(other.userId))
        yield* TestClock.adjust(Duration.seconds(1))
      }
      const pages = yield* listAllOrders(actor, 3)
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1])
      expect(pages.flat().map((o) => o.externalId)).toEqual(["o:6", "o:5", "o:4", "o:3", "o:2", "o:1", "o:0"])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("pagination is exact when orders share a creation time", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const ids: Array<string> = []
      for (let i = 0; i < 8; i++) ids.push((yield* Orders.upsertOrder(`same:${i}`, orderFor(actor.userId))).order.id)
      for (const limit of [1, 3, 8, 20]) {
        const seen = (yield* listAllOrders(actor, limit)).flat().map((o) => o.id)
        expect(seen).toHaveLength(8)
        expect(new Set(seen)).toEqual(new Set(ids))
      }
      const exact = yield* Orders.listOrders(actor, { limit: 8 })
      expect(exact.nextCursor).toBeNull()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an invalid cursor fails InvalidCursor", () =>
    Effect.gen(function*() {
      const actor = newActor()
      yield* Orders.upsertOrder("o:1", orderFor(actor.userId))
      for (const cursor of ["garbage", Buffer.from("{\"c\":0,\"i\":\"x\"}").toString("base64url")]) {
        expect((yield* Effect.flip(Orders.listOrders(actor, { cursor })))._tag).toBe("InvalidCursor")
      }
    }).pipe(Effect.provide(memoryLayer())))
})

describe("getOrder", () => {
  it.effect("returns the caller's order", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const { order } = yield* Orders.upsertOrder("o:mine", orderFor(actor.userId))
      expect(yield* Orders.getOrder(actor, order.id)).toEqual(order)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("another user's order is OrderNotFound, like a random id", () =>
    Effect.gen(function*() {
      const owner = newActor()
      const intruder = newActor()
      const { order } = yield* Orders.upsertOrder("o:private", orderFor(owner.userId))
      const theirs = yield* Effect.flip(Orders.getOrder(intruder, order.id))
      const missing = yield* Effect.flip(Orders.getOrder(intruder, randomUUID() as OrderId))
      expect(theirs._tag).toBe("OrderNotFound")
      expect(missing._tag).toBe("OrderNotFound")
      expect({ ...theirs }).toEqual({ ...missing })
      // Still readable by its owner.
      expect((yield* Orders.getOrder(owner, order.id)).id).toBe(order.id)
    }).pipe(Effect.provide(memoryLayer())))
})
