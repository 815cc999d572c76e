import { randomUUID } from "node:crypto"
import { describe, it } from "@effect/vitest"
import { Duration, Effect, Ref, Schema } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import { EnqueuedJobs } from "../../src/capabilities/queue/JobQueue.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import type { Design, DesignId, DesignStatus } from "../../src/domain/Design.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import type { PlanId, SubscriptionStatus } from "../../src/domain/Subscription.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Designs from "../../src/features/designs/Designs.ts"
import * as Subscriptions from "../../src/features/subscriptions/Subscriptions.ts"
import { validDocument } from "../support/http.ts"
import { memoryLayer } from "../support/memory.ts"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const DOCUMENT: DesignDocument = validDocument()

const documentMm = (width: number, height: number): DesignDocument => ({
  ...DOCUMENT,
  canvas: { width, height, unit: "mm", dpi: 300, background: null }
})

const newActor = (): Actor => ({ userId: randomUUID() as UserId, role: "user", sessionId: "s".repeat(22) })

/** A fresh user with a subscription. */
const subscriber = (plan: PlanId = "free", status: SubscriptionStatus = "active") =>
  Effect.gen(function*() {
    const actor = newActor()
    yield* Subscriptions.setSubscription(actor.userId, plan, status)
    return actor
  })

const create = (
  actor: Actor,
  overrides: { name?: string; productType?: string; document?: DesignDocument; status?: DesignStatus } = {}
) =>
  Designs.createDesign(actor, {
    name: overrides.name ?? "My design",
    productType: overrides.productType ?? "t-shirt",
    document: overrides.document ?? DOCUMENT,
    ...(overrides.status === undefined ? {} : { status: overrides.status })
  })

const createMany = (actor: Actor, count: number) =>
  Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => create(actor, { name: `Design ${i}` }))

/** Every page of the caller's designs, following nextCursor. */
const listAll = (actor: Actor, query: { limit: number; productType?: string; status?: DesignStatus }) =>
  Effect.gen(function*() {
    const pages: Array<ReadonlyArray<Design>> = []
    let cursor: string | undefined = undefined
    for (let guard = 0; guard < 100; guard++) {
      const page: Designs.DesignPage = yield* Designs.listDesigns(actor, {
        ...query,
        ...(cursor === undefined ? {} : { cursor })
      })
      pages.push(page.data)
      if (page.nextCursor === null) break
      cursor = page.nextCursor
    }
    return pages
  })

const randomDesignId = () => randomUUID() as DesignId

// ---------------------------------------------------------------------------------------------
// createDesign
// ---------------------------------------------------------------------------------------------

describe("createDesign", () => {
  it.effect("creates a draft at version 1, owned by the caller", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      yield* TestClock.setTime(Date.UTC(2025, 4, 10, 12))
      const design = yield* create(actor, { name: "Summer", productType: "mug" })
      expect(design.version).toBe(1)
      expect(design.status).toBe("draft")
      expect(design.ownerId).toBe(actor.userId)
      expect(design.name).toBe("Summer")
      expect(design.productType).toBe("mug")
      expect(design.document).toEqual(DOCUMENT)
      expect(Schema.is(Schema.String.check(Schema.isUUID()))(design.id)).toBe(true)
      expect(design.createdAt.toISOString()).toBe("2025-05-10T12:00:00.000Z")
      expect(design.updatedAt.getTime()).toBe(design.createdAt.getTime())
      // And it can be read back.
      const read = yield* Designs.getDesign(actor, design.id)
      expect(read).toEqual(design)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("keeps an explicit status", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor, { status: "ready" })
      expect(design.status).toBe("ready")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("gives each design its own id", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const designs = yield* createMany(actor, 3)
      expect(new Set(designs.map((d) => d.id)).size).toBe(3)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an unknown productType is DesignInvalid at productType", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const error = yield* Effect.flip(create(actor, { productType: "spaceship" }))
      expect(error._tag).toBe("DesignInvalid")
      if (error._tag !== "DesignInvalid") return
      expect(error.errors).toHaveLength(1)
      expect(error.errors[0]!.path).toBe("productType")
      expect(error.errors[0]!.message).toContain("t-shirt")
      // Nothing was created or charged.
      expect((yield* Designs.listDesigns(actor, {})).data).toHaveLength(0)
      yield* createMany(actor, 10)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a canvas wider than the product's printable area is DesignInvalid at document.canvas.width", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      // phone-case: 70 x 140 mm printable
      const error = yield* Effect.flip(create(actor, { productType: "phone-case", document: documentMm(100, 100) }))
      expect(error._tag).toBe("DesignInvalid")
      if (error._tag !== "DesignInvalid") return
      expect(error.errors.map((e) => e.path)).toEqual(["document.canvas.width"])
      expect(error.errors[0]!.message).toContain("70")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("reports both width and height when both overflow", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const error = yield* Effect.flip(create(actor, { productType: "sticker", document: documentMm(150, 150) }))
      expect(error._tag).toBe("DesignInvalid")
      if (error._tag !== "DesignInvalid") return
      expect(error.errors.map((e) => e.path)).toEqual(["document.canvas.width", "document.canvas.height"])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("the printable area allows 0.5 mm of tolerance, in every unit", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("pro")
      // phone-case: 70 x 140 mm
      yield* create(actor, { productType: "phone-case", document: documentMm(70, 140) })
      yield* create(actor, { productType: "phone-case", document: documentMm(70.5, 140.5) })
      const over = yield* Effect.flip(create(actor, { productType: "phone-case", document: documentMm(70.6, 140) }))
      expect(over._tag).toBe("DesignInvalid")
      const overHeight = yield* Effect.flip(
        create(actor, { productType: "phone-case", document: documentMm(70, 140.6) })
      )
      expect(overHeight._tag).toBe("DesignInvalid")
      if (overHeight._tag === "DesignInvalid") {
        expect(overHeight.errors.map((e) => e.path)).toEqual(["document.canvas.height"])
      }
      // 2.75 in = 69.85 mm fits; 2.8 in = 71.12 mm does not.
      const inches = (width: number): DesignDocument => ({ ...DOCUMENT, canvas: { ...DOCUMENT.canvas, unit: "in", width, height: 5 } })
      yield* create(actor, { productType: "phone-case", document: inches(2.75) })
      expect((yield* Effect.flip(create(actor, { productType: "phone-case", document: inches(2.8) })))._tag)
        .toBe("DesignInvalid")
      // 826 px at 300 dpi = 69.9 mm fits; the same at 72 dpi = 291 mm does not.
      const pixels = (dpi: number): DesignDocument => ({ ...DOCUMENT, canvas: { ...DOCUMENT.canvas, width: 826, height: 100, dpi } })
      yield* create(actor, { productType: "phone-case", document: pixels(300) })
      expect((yield* Effect.flip(create(actor, { productType: "phone-case", document: pixels(72) })))._tag)
        .toBe("DesignInvalid")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("the example document fits every product", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("pro")
      for (const productType of ["hoodie", "mug", "phone-case", "poster", "sticker", "t-shirt", "tote-bag"]) {
        const design = yield* create(actor, { productType })
        expect(design.productType).toBe(productType)
      }
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// Subscriptions gate creation, not reading
// ---------------------------------------------------------------------------------------------

describe("subscription status", () => {
  it.effect("a user without a subscription cannot create: SubscriptionInactive", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const error = yield* Effect.flip(create(actor))
      expect(error._tag).toBe("SubscriptionInactive")
      if (error._tag === "SubscriptionInactive") expect(error.status).toBe("none")
      expect((yield* Designs.listDesigns(actor, {})).data).toHaveLength(0)
    }).pipe(Effect.provide(memoryLayer())))

  for (const status of ["past_due", "canceled", "incomplete"] as const) {
    it.effect(`${status}: creating and duplicating fail SubscriptionInactive; reads keep working`, () =>
      Effect.gen(function*() {
        const actor = yield* subscriber("pro", "active")
        const existing = yield* create(actor, { name: "Before" })
        yield* Subscriptions.setSubscription(actor.userId, "pro", status)

        const error = yield* Effect.flip(create(actor))
        expect(error._tag).toBe("SubscriptionInactive")
        if (error._tag === "SubscriptionInactive") expect(error.status).toBe(status)

        const duplicateError = yield* Effect.flip(Designs.duplicateDesign(actor, existing.id))
        expect(duplicateError._tag).toBe("SubscriptionInactive")

        expect(yield* Designs.getDesign(actor, existing.id)).toEqual(existing)
        const page = yield* Designs.listDesigns(actor, {})
        expect(page.data.map((d) => d.id)).toEqual([existing.id])

        // Reactivated: creating works again.
        yield* Subscriptions.setSubscription(actor.userId, "pro", "active")
        yield* create(actor)
      }).pipe(Effect.provide(memoryLayer())))
  }
})

// ---------------------------------------------------------------------------------------------
// Quota
// ---------------------------------------------------------------------------------------------

describe("monthly quota", () => {
  it.effect("free plan: 10 creates succeed, the 11th is QuotaExceeded resetting on the 1st of next month", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 2, 15, 9, 30))
      const actor = yield* subscriber("free")
      yield* createMany(actor, 10)
      const error = yield* Effect.flip(create(actor))
      expect(error._tag).toBe("QuotaExceeded")
      if (error._tag !== "QuotaExceeded") return
      expect(error.limit).toBe(10)
      expect(error.used).toBe(10)
      expect(error.resetsAt).toEqual(new Date("2025-04-01T00:00:00.000Z"))
      // Nothing was inserted by the refused create.
      expect((yield* Designs.listDesigns(actor, { limit: 100 })).data).toHaveLength(10)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("at epoch 0 the quota resets on 1970-02-01", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("free")
      yield* createMany(actor, 10)
      const error = yield* Effect.flip(create(actor))
      expect(error).toMatchObject({ _tag: "QuotaExceeded", limit: 10, used: 10, resetsAt: new Date("1970-02-01T00:00:00.000Z") })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("in December the quota resets on January 1st of the next year", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2024, 11, 31, 23, 59, 59, 999))
      const actor = yield* subscriber("free")
      yield* createMany(actor, 10)
      const error = yield* Effect.flip(create(actor))
      expect(error).toMatchObject({ _tag: "QuotaExceeded", resetsAt: new Date("2025-01-01T00:00:00.000Z") })
      yield* TestClock.setTime(Date.UTC(2025, 0, 1))
      yield* create(actor)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("quotas are per user", () =>
    Effect.gen(function*() {
      const alice = yield* subscriber("free")
      const bob = yield* subscriber("free")
      yield* createMany(alice, 10)
      expect((yield* Effect.flip(create(alice)))._tag).toBe("QuotaExceeded")
      yield* createMany(bob, 10)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("deleting a design does not give quota back", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("free")
      const designs = yield* createMany(actor, 10)
      yield* Designs.deleteDesign(actor, designs[0]!.id)
      yield* Designs.deleteDesign(actor, designs[1]!.id)
      const error = yield* Effect.flip(create(actor))
      expect(error).toMatchObject({ _tag: "QuotaExceeded", limit: 10, used: 10 })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a refused create (invalid product) is not charged", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("free")
      for (let i = 0; i < 5; i++) {
        expect((yield* Effect.flip(create(actor, { productType: "phone-case", document: documentMm(500, 500) })))._tag)
          .toBe("DesignInvalid")
      }
      yield* createMany(actor, 10)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("rolls over at the month boundary (January 31st 23:59 → February 1st 00:00)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 0, 31, 23, 59))
      const actor = yield* subscriber("free")
      yield* createMany(actor, 10)
      const error = yield* Effect.flip(create(actor))
      expect(error).toMatchObject({ _tag: "QuotaExceeded", used: 10, resetsAt: new Date("2025-02-01T00:00:00.000Z") })

      yield* TestClock.setTime(Date.UTC(2025, 1, 1, 0, 0))
      const february = yield* create(actor, { name: "February" })
      expect(february.createdAt.toISOString()).toBe("2025-02-01T00:00:00.000Z")
      // A full new month: 9 more, then refused again with March as the reset.
      yield* createMany(actor, 9)
      const again = yield* Effect.flip(create(actor))
      expect(again).toMatchObject({ _tag: "QuotaExceeded", used: 10, resetsAt: new Date("2025-03-01T00:00:00.000Z") })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("one millisecond before the boundary is still the old month", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2025, 0, 31, 23, 59))
      const actor = yield* subscriber("free")
      yield* createMany(actor, 10)
      yield* TestClock.setTime(Date.UTC(2025, 1, 1) - 1)
      expect((yield* Effect.flip(create(actor)))._tag).toBe("QuotaExceeded")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("enterprise is unlimited (50 creates)", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("enterprise")
      const designs = yield* createMany(actor, 50)
      expect(designs).toHaveLength(50)
      const page = yield* Designs.listDesigns(actor, { limit: 100 })
      expect(page.data).toHaveLength(50)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("starter allows 100 and refuses the 101st with limit 100", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("starter")
      yield* createMany(actor, 100)
      expect(yield* Effect.flip(create(actor))).toMatchObject({ _tag: "QuotaExceeded", limit: 100, used: 100 })
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// duplicateDesign
// ---------------------------------------------------------------------------------------------

describe("duplicateDesign", () => {
  it.effect("makes a draft copy named \"<name> (copy)\"", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const original = yield* create(actor, { name: "Logo", productType: "hoodie", status: "ready" })
      yield* TestClock.adjust(Duration.seconds(5))
      const copy = yield* Designs.duplicateDesign(actor, original.id)
      expect(copy.id).not.toBe(original.id)
      expect(copy.name).toBe("Logo (copy)")
      expect(copy.status).toBe("draft")
      expect(copy.version).toBe(1)
      expect(copy.productType).toBe("hoodie")
      expect(copy.ownerId).toBe(actor.userId)
      expect(copy.document).toEqual(original.document)
      expect(copy.createdAt.getTime()).toBe(original.createdAt.getTime() + 5_000)
      // The original is untouched.
      expect(yield* Designs.getDesign(actor, original.id)).toEqual(original)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a copy of a copy appends the suffix again", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const original = yield* create(actor, { name: "A" })
      const copy = yield* Designs.duplicateDesign(actor, original.id)
      const copyOfCopy = yield* Designs.duplicateDesign(actor, copy.id)
      expect(copyOfCopy.name).toBe("A (copy) (copy)")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("keeps names within 200 characters", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const long = yield* create(actor, { name: "n".repeat(200) })
      const longCopy = yield* Designs.duplicateDesign(actor, long.id)
      expect(longCopy.name.length).toBe(200)
      expect(longCopy.name.endsWith(" (copy)")).toBe(true)
      expect(longCopy.name).toBe(`${"n".repeat(193)} (copy)`)

      const fits = yield* create(actor, { name: "f".repeat(193) })
      expect((yield* Designs.duplicateDesign(actor, fits.id)).name).toBe(`${"f".repeat(193)} (copy)`)

      const oneOver = yield* create(actor, { name: "o".repeat(194) })
      const oneOverCopy = yield* Designs.duplicateDesign(actor, oneOver.id)
      expect(oneOverCopy.name).toBe(`${"o".repeat(193)} (copy)`)
      expect(oneOverCopy.name.length).toBe(200)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("counts against the quota like a create", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("free")
      const designs = yield* createMany(actor, 9)
      yield* Designs.duplicateDesign(actor, designs[0]!.id)
      expect(yield* Effect.flip(create(actor))).toMatchObject({ _tag: "QuotaExceeded", used: 10 })
      expect(yield* Effect.flip(Designs.duplicateDesign(actor, designs[1]!.id))).toMatchObject({
        _tag: "QuotaExceeded",
        limit: 10,
        used: 10
      })
      expect((yield* Designs.listDesigns(actor, { limit: 100 })).data).toHaveLength(10)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a deleted design cannot be duplicated", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor)
      yield* Designs.getDesign(actor, design.id) // cached
      yield* Designs.deleteDesign(actor, design.id)
      expect((yield* Effect.flip(Designs.duplicateDesign(actor, design.id)))._tag).toBe("DesignNotFound")
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// Ownership
// ---------------------------------------------------------------------------------------------

describe("someone else's design", () => {
  it.effect("is DesignNotFound for get, update, delete and duplicate, like a random id", () =>
    Effect.gen(function*() {
      const owner = yield* subscriber()
      const intruder = yield* subscriber()
      const design = yield* create(owner, { name: "Private" })

      for (const id of [design.id, randomDesignId()]) {
        const errors = [
          yield* Effect.flip(Designs.getDesign(intruder, id)),
          yield* Effect.flip(Designs.updateDesign(intruder, id, 1, { name: "Hacked" })),
          yield* Effect.flip(Designs.deleteDesign(intruder, id)),
          yield* Effect.flip(Designs.duplicateDesign(intruder, id))
        ]
        expect(errors.map((error) => error._tag)).toEqual(Array(4).fill("DesignNotFound"))
      }

      // The same error value shape for both (nothing distinguishes "exists" from "missing").
      const theirs = yield* Effect.flip(Designs.getDesign(intruder, design.id))
      const missing = yield* Effect.flip(Designs.getDesign(intruder, randomDesignId()))
      expect({ ...theirs }).toEqual({ ...missing })

      // Nothing changed for the owner, and the intruder was not charged for the refused duplicate.
      expect(yield* Designs.getDesign(owner, design.id)).toEqual(design)
      expect((yield* Designs.listDesigns(intruder, {})).data).toHaveLength(0)
      yield* createMany(intruder, 10)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("is DesignNotFound even after the owner has read it (cached)", () =>
    Effect.gen(function*() {
      const owner = yield* subscriber()
      const intruder = yield* subscriber()
      const design = yield* create(owner)
      yield* Designs.getDesign(owner, design.id)
      expect((yield* Effect.flip(Designs.getDesign(intruder, design.id)))._tag).toBe("DesignNotFound")
      expect((yield* Effect.flip(Designs.duplicateDesign(intruder, design.id)))._tag).toBe("DesignNotFound")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("does not appear in another user's list", () =>
    Effect.gen(function*() {
      const owner = yield* subscriber()
      const other = yield* subscriber()
      yield* createMany(owner, 3)
      const mine = yield* create(other)
      const page = yield* Designs.listDesigns(other, {})
      expect(page.data.map((d) => d.id)).toEqual([mine.id])
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// updateDesign
// ---------------------------------------------------------------------------------------------

describe("updateDesign", () => {
  it.effect("with the current version applies the changes and bumps the version", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor, { productType: "poster" })
      yield* Designs.getDesign(actor, design.id) // populate the cache
      yield* TestClock.adjust(Duration.minutes(1))
      const newDocument = documentMm(400, 500)
      const updated = yield* Designs.updateDesign(actor, design.id, 1, {
        name: "Renamed",
        status: "ready",
        document: newDocument
      })
      expect(updated.version).toBe(2)
      expect(updated.name).toBe("Renamed")
      expect(updated.status).toBe("ready")
      expect(updated.document).toEqual(newDocument)
      expect(updated.productType).toBe("poster")
      expect(updated.createdAt.getTime()).toBe(design.createdAt.getTime())
      expect(updated.updatedAt.getTime()).toBe(design.createdAt.getTime() + 60_000)
      // Reads see the new version at once (the cache was invalidated).
      expect(yield* Designs.getDesign(actor, design.id)).toEqual(updated)

      const again = yield* Designs.updateDesign(actor, design.id, 2, { name: "Third" })
      expect(again.version).toBe(3)
      expect(again.status).toBe("ready")
      expect(again.document).toEqual(newDocument)
      expect((yield* Designs.getDesign(actor, design.id)).name).toBe("Third")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("with a stale version fails VersionConflict with the current version and changes nothing", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor)
      yield* Designs.updateDesign(actor, design.id, 1, { name: "v2" })
      yield* Designs.updateDesign(actor, design.id, 2, { name: "v3" })
      const error = yield* Effect.flip(Designs.updateDesign(actor, design.id, 1, { name: "stale" }))
      expect(error._tag).toBe("VersionConflict")
      if (error._tag === "VersionConflict") expect(error.currentVersion).toBe(3)
      const future = yield* Effect.flip(Designs.updateDesign(actor, design.id, 7, { name: "future" }))
      expect(future).toMatchObject({ _tag: "VersionConflict", currentVersion: 3 })
      const current = yield* Designs.getDesign(actor, design.id)
      expect(current.name).toBe("v3")
      expect(current.version).toBe(3)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("with a document too big for the product fails DesignInvalid and changes nothing", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor, { productType: "phone-case" })
      const error = yield* Effect.flip(Designs.updateDesign(actor, design.id, 1, { document: documentMm(100, 100) }))
      expect(error._tag).toBe("DesignInvalid")
      if (error._tag === "DesignInvalid") expect(error.errors.map((e) => e.path)).toEqual(["document.canvas.width"])
      const current = yield* Designs.getDesign(actor, design.id)
      expect(current.version).toBe(1)
      expect(current.document).toEqual(DOCUMENT)
      // A canvas of the phone case's own size is accepted.
      const ok = yield* Designs.updateDesign(actor, design.id, 1, { document: documentMm(70, 140) })
      expect(ok.version).toBe(2)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("answers as if it read first: not found, then an invalid document, then a stale version", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const intruder = yield* subscriber()
      const design = yield* create(actor, { productType: "phone-case" })
      // A canvas that fits a poster but not this phone case, on a stale version: invalid, not a conflict.
      const invalid = yield* Effect.flip(Designs.updateDesign(actor, design.id, 7, { document: documentMm(100, 100) }))
      expect(invalid._tag).toBe("DesignInvalid")
      // Someone else's design is not found, whatever the document.
      expect((yield* Effect.flip(Designs.updateDesign(intruder, design.id, 1, { document: documentMm(100, 100) })))._tag)
        .toBe("DesignNotFound")
      expect((yield* Effect.flip(Designs.updateDesign(intruder, design.id, 1, { document: documentMm(70, 140) })))._tag)
        .toBe("DesignNotFound")
      // A fitting document on a stale version is the conflict, with the current version.
      expect(yield* Effect.flip(Designs.updateDesign(actor, design.id, 7, { document: documentMm(70, 140) })))
        .toMatchObject({ _tag: "VersionConflict", currentVersion: 1 })
      expect((yield* Designs.getDesign(actor, design.id)).version).toBe(1)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("works while the subscription is inactive (only creation is gated)", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor)
      yield* Subscriptions.setSubscription(actor.userId, "free", "canceled")
      const updated = yield* Designs.updateDesign(actor, design.id, 1, { name: "Still mine" })
      expect(updated.version).toBe(2)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("of a deleted design is DesignNotFound", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor)
      yield* Designs.deleteDesign(actor, design.id)
      expect((yield* Effect.flip(Designs.updateDesign(actor, design.id, 1, { name: "x" })))._tag)
        .toBe("DesignNotFound")
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// deleteDesign
// ---------------------------------------------------------------------------------------------

describe("deleteDesign", () => {
  it.effect("makes get fail DesignNotFound and removes the design from lists", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const keep = yield* create(actor, { name: "Keep" })
      const gone = yield* create(actor, { name: "Gone" })
      yield* Designs.getDesign(actor, gone.id) // cached before the delete
      yield* Designs.deleteDesign(actor, gone.id)
      expect((yield* Effect.flip(Designs.getDesign(actor, gone.id)))._tag).toBe("DesignNotFound")
      const page = yield* Designs.listDesigns(actor, {})
      expect(page.data.map((d) => d.id)).toEqual([keep.id])
      // Deleting twice is DesignNotFound.
      expect((yield* Effect.flip(Designs.deleteDesign(actor, gone.id)))._tag).toBe("DesignNotFound")
      // The other design is untouched.
      expect(yield* Designs.getDesign(actor, keep.id)).toEqual(keep)
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// listDesigns
// ---------------------------------------------------------------------------------------------

describe("listDesigns", () => {
  it.effect("lists newest first", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const created: Array<Design> = []
      for (let i = 0; i < 4; i++) {
        created.push(yield* create(actor, { name: `d${i}` }))
        yield* TestClock.adjust(Duration.seconds(1))
      }
      const page = yield* Designs.listDesigns(actor, {})
      expect(page.data.map((d) => d.name)).toEqual(["d3", "d2", "d1", "d0"])
      expect(page.nextCursor).toBeNull()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("defaults to 20 per page", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("starter")
      yield* createMany(actor, 21)
      const page = yield* Designs.listDesigns(actor, {})
      expect(page.data).toHaveLength(20)
      expect(page.nextCursor).not.toBeNull()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("limit + nextCursor visits every design exactly once, in order (distinct times)", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("starter")
      const created: Array<Design> = []
      for (let i = 0; i < 7; i++) {
        created.push(yield* create(actor, { name: `d${i}` }))
        yield* TestClock.adjust(Duration.millis(10))
      }
      const pages = yield* listAll(actor, { limit: 3 })
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1])
      expect(pages.flat().map((d) => d.name)).toEqual(["d6", "d5", "d4", "d3", "d2", "d1", "d0"])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("pagination is exact when several designs share a creation time", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("starter")
      // All created at the same instant: order falls back to the id.
      const created = yield* createMany(actor, 9)
      for (const limit of [1, 2, 4, 9, 10]) {
        const pages = yield* listAll(actor, { limit })
        const ids = pages.flat().map((d) => d.id)
        expect(ids).toHaveLength(9)
        expect(new Set(ids)).toEqual(new Set(created.map((d) => d.id)))
        expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true)
        expect(ids).toEqual([...ids].sort().reverse())
      }
      // limit = count: one full page and no cursor.
      const exact = yield* Designs.listDesigns(actor, { limit: 9 })
      expect(exact.nextCursor).toBeNull()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a cursor stays valid while new designs are added (keyset)", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("starter")
      for (let i = 0; i < 4; i++) {
        yield* create(actor, { name: `old${i}` })
        yield* TestClock.adjust(Duration.seconds(1))
      }
      const first = yield* Designs.listDesigns(actor, { limit: 2 })
      expect(first.data.map((d) => d.name)).toEqual(["old3", "old2"])
      yield* create(actor, { name: "new" })
      const second = yield* Designs.listDesigns(actor, { limit: 2, cursor: first.nextCursor! })
      expect(second.data.map((d) => d.name)).toEqual(["old1", "old0"])
      expect(second.nextCursor).toBeNull()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("filters by productType and by status, with pagination", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("starter")
      for (let i = 0; i < 5; i++) {
        yield* create(actor, { name: `mug${i}`, productType: "mug", status: i % 2 === 0 ? "ready" : "draft" })
        yield* create(actor, { name: `tee${i}`, productType: "t-shirt" })
        yield* TestClock.adjust(Duration.seconds(1))
      }
      const mugs = (yield* listAll(actor, { limit: 2, productType: "mug" })).flat()
      expect(mugs.map((d) => d.name)).toEqual(["mug4", "mug3", "mug2", "mug1", "mug0"])

      const ready = (yield* listAll(actor, { limit: 2, status: "ready" })).flat()
      expect(ready.map((d) => d.name)).toEqual(["mug4", "mug2", "mug0"])

      const draftMugs = (yield* listAll(actor, { limit: 10, productType: "mug", status: "draft" })).flat()
      expect(draftMugs.map((d) => d.name)).toEqual(["mug3", "mug1"])

      expect((yield* Designs.listDesigns(actor, { status: "archived" })).data).toHaveLength(0)
      expect((yield* Designs.listDesigns(actor, { productType: "poster" })).data).toHaveLength(0)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("the status filter follows updates", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      const design = yield* create(actor)
      expect((yield* Designs.listDesigns(actor, { status: "archived" })).data).toHaveLength(0)
      yield* Designs.updateDesign(actor, design.id, 1, { status: "archived" })
      const archived = yield* Designs.listDesigns(actor, { status: "archived" })
      expect(archived.data.map((d) => d.id)).toEqual([design.id])
      expect((yield* Designs.listDesigns(actor, { status: "draft" })).data).toHaveLength(0)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an invalid cursor fails InvalidCursor", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber()
      yield* create(actor)
      for (
        const cursor of [
          "garbage",
          "",
          Buffer.from("{\"c\":1}").toString("base64url"),
          Buffer.from("{\"c\":1,\"i\":\"not-a-uuid\"}").toString("base64url"),
          // No instant a Date can hold.
          Buffer.from(`{"c":1e400,"i":"${randomUUID()}"}`).toString("base64url"),
          Buffer.from("[1,2]").toString("base64url")
        ]
      ) {
        const error = yield* Effect.flip(Designs.listDesigns(actor, { cursor }))
        expect(error._tag).toBe("InvalidCursor")
      }
    }).pipe(Effect.provide(memoryLayer())))
})

// ---------------------------------------------------------------------------------------------
// Indexing for similar-design search
// ---------------------------------------------------------------------------------------------

describe("design writes and similar-design indexing", () => {
  const indexJobs = Effect.gen(function*() {
    const jobs = yield* Ref.get(yield* EnqueuedJobs)
    return jobs.filter((job) => job._tag === "design.index")
  })

  it.effect("create, update, duplicate and delete each queue the design for indexing", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber("pro")
      const design = yield* create(actor)
      yield* Designs.updateDesign(actor, design.id, 1, { name: "Renamed" })
      const copy = yield* Designs.duplicateDesign(actor, design.id)
      yield* Designs.deleteDesign(actor, design.id)
      expect(yield* indexJobs).toEqual([
        { _tag: "design.index", designId: design.id, ownerId: actor.userId },
        { _tag: "design.index", designId: design.id, ownerId: actor.userId },
        { _tag: "design.index", designId: copy.id, ownerId: actor.userId },
        { _tag: "design.index", designId: design.id, ownerId: actor.userId }
      ])
    }).pipe(Effect.provide(memoryLayer())))

  const writeAndCount = Effect.gen(function*() {
    const actor = yield* subscriber("pro")
    const design = yield* create(actor)
    yield* Designs.updateDesign(actor, design.id, 1, { name: "Renamed" })
    yield* Designs.deleteDesign(actor, design.id)
    return (yield* indexJobs).length
  })

  it.effect("without a language model or a vector index configured, nothing is queued", () =>
    Effect.gen(function*() {
      expect(yield* writeAndCount.pipe(Effect.provide(LanguageModel.layerUnconfigured), Effect.provide(memoryLayer()))).toBe(0)
      expect(yield* writeAndCount.pipe(Effect.provide(VectorIndex.layerUnconfigured), Effect.provide(memoryLayer()))).toBe(0)
      expect(yield* writeAndCount.pipe(Effect.provide(memoryLayer()))).toBe(3)
    }))
})
