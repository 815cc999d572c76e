import { randomUUID } from "node:crypto"
import { describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schema } from "effect"
import { RateLimiter } from "effect/persistence"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import * as AiConfig from "../../src/config/AiConfig.ts"
import { designNamespace, Suggestion } from "../../src/domain/Ai.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Ai from "../../src/features/ai/Ai.ts"
import * as Designs from "../../src/features/designs/Designs.ts"
import * as Subscriptions from "../../src/features/subscriptions/Subscriptions.ts"
import { memoryLayer } from "../support/memory.ts"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** The memory layers of the app, with the fake model, the memory vector index and a rate limiter store. */
const aiLayer = (
  options: {
    readonly model?: Layer.Layer<LanguageModel.LanguageModel>
    readonly vectors?: Layer.Layer<VectorIndex.VectorIndex>
    readonly config?: Partial<AiConfig.AiSettings>
  } = {}
) =>
  Layer.mergeAll(
    options.model ?? LanguageModel.layerFake,
    options.vectors ?? VectorIndex.layerMemory,
    RateLimiter.layerStoreMemory,
    AiConfig.layerTest(options.config)
  ).pipe(Layer.provideMerge(memoryLayer()))

const newActor = (): Actor => ({ userId: randomUUID() as UserId, role: "user", sessionId: "s".repeat(22) })

const subscriber = Effect.gen(function*() {
  const actor = newActor()
  yield* Subscriptions.setSubscription(actor.userId, "pro", "active")
  return actor
})

const documentWith = (...texts: ReadonlyArray<string>): DesignDocument => ({
  canvas: { width: 800, height: 600, unit: "px", dpi: 300, background: "#ffffff" },
  layers: texts.map((content, i) => ({
    id: `t${i}`,
    type: "text" as const,
    x: 10,
    y: 10 + i * 60,
    width: 200,
    height: 50,
    rotation: 0,
    opacity: 1,
    zIndex: i,
    content,
    fontFamily: "Inter" as const,
    fontSize: 24,
    color: "#000000",
    align: "left" as const
  }))
})

const createIndexed = (actor: Actor, name: string, productType: string, ...texts: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const design = yield* Designs.createDesign(actor, { name, productType, document: documentWith(...texts) })
    expect(yield* Ai.indexDesign(design.id)).toBe("indexed")
    return design
  })

const request = { productType: "t-shirt", prompt: "A retro surf club logo for summer", style: "vintage" } as const

// ---------------------------------------------------------------------------------------------
// suggestDesigns
// ---------------------------------------------------------------------------------------------

describe("suggestDesigns", () => {
  it.effect("answers suggestions that satisfy the suggestion schema, deterministically with the fake model", () =>
    Effect.gen(function*() {
      const actor = newActor()
      const suggestions = yield* Ai.suggestDesigns(actor, request)
      expect(suggestions.length).toBeGreaterThan(0)
      for (const suggestion of suggestions) expect(Schema.is(Suggestion)(suggestion)).toBe(true)
      expect(yield* Ai.suggestDesigns(actor, request)).toEqual(suggestions)
      expect(suggestions[0]!.title).toContain("T-shirt")
    }).pipe(Effect.provide(aiLayer())))

  it.effect("refuses an unknown product type, naming the field", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Ai.suggestDesigns(newActor(), { ...request, productType: "spaceship" }))
      expect(error._tag).toBe("InvalidInput")
      if (error._tag === "InvalidInput") expect(error.errors[0]!.path).toBe("productType")
    }).pipe(Effect.provide(aiLayer())))

  it.effect("allows 20 calls per user per hour, then AiRateLimited until the hour has passed", () =>
    Effect.gen(function*() {
      const actor = newActor()
      for (let i = 0; i < 20; i++) yield* Ai.suggestDesigns(actor, request)
      const limited = yield* Effect.flip(Ai.suggestDesigns(actor, request))
      expect(limited._tag).toBe("AiRateLimited")
      if (limited._tag === "AiRateLimited") {
        expect(limited).toMatchObject({ budget: "ai_suggestions", limit: 20 })
        expect(limited.retryAfterSeconds).toBeGreaterThan(0)
        expect(limited.retryAfterSeconds).toBeLessThanOrEqual(3600)
      }
      // Somebody else still has their whole budget.
      yield* Ai.suggestDesigns(newActor(), request)
      yield* TestClock.adjust(Duration.hours(1))
      expect((yield* Ai.suggestDesigns(actor, request)).length).toBeGreaterThan(0)
    }).pipe(Effect.provide(aiLayer())))

  it.effect("follows AI_SUGGESTIONS_PER_HOUR", () =>
    Effect.gen(function*() {
      const actor = newActor()
      yield* Ai.suggestDesigns(actor, request)
      yield* Ai.suggestDesigns(actor, request)
      expect((yield* Effect.flip(Ai.suggestDesigns(actor, request)))._tag).toBe("AiRateLimited")
    }).pipe(Effect.provide(aiLayer({ config: { aiSuggestionsPerHour: 2 } }))))

  it.effect("without a language model fails FeatureUnavailable, and spends no budget", () =>
    Effect.gen(function*() {
      const actor = newActor()
      for (let i = 0; i < 3; i++) {
        const error = yield* Effect.flip(Ai.suggestDesigns(actor, request))
        expect(error).toMatchObject({ _tag: "FeatureUnavailable", feature: "ai_suggestions" })
      }
    }).pipe(Effect.provide(aiLayer({ model: LanguageModel.layerUnconfigured, config: { aiSuggestionsPerHour: 1 } }))))
})

// ---------------------------------------------------------------------------------------------
// indexDesign and similarDesigns
// ---------------------------------------------------------------------------------------------

describe("similarDesigns", () => {
  it.effect("returns the owner's most similar designs, never the design itself", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      const surf = yield* createIndexed(actor, "Summer surf club", "t-shirt", "Surf club 1987", "Catch the wave")
      const surf2 = yield* createIndexed(actor, "Summer surf club reunion", "t-shirt", "Surf club 1988", "Catch the wave")
      const coffee = yield* createIndexed(actor, "Morning coffee", "mug", "But first, coffee")
      const similar = yield* Ai.similarDesigns(actor, surf.id, 5)
      expect(similar.map((d) => d.id)).toEqual([surf2.id, coffee.id])
      expect(similar.every((d) => d.ownerId === actor.userId)).toBe(true)
      expect((yield* Ai.similarDesigns(actor, surf.id, 1)).map((d) => d.id)).toEqual([surf2.id])
    }).pipe(Effect.provide(aiLayer())))

  it.effect("two users with near-identical designs never see each other's", () =>
    Effect.gen(function*() {
      const alice = yield* subscriber
      const bob = yield* subscriber
      const texts = ["Surf club 1987", "Catch the wave"] as const
      const alice1 = yield* createIndexed(alice, "Summer surf club", "t-shirt", ...texts)
      const alice2 = yield* createIndexed(alice, "Summer surf club", "hoodie", ...texts)
      const bob1 = yield* createIndexed(bob, "Summer surf club", "t-shirt", ...texts)
      const bob2 = yield* createIndexed(bob, "Summer surf club", "t-shirt", ...texts)

      expect((yield* Ai.similarDesigns(alice, alice1.id, 20)).map((d) => d.id)).toEqual([alice2.id])
      expect((yield* Ai.similarDesigns(bob, bob1.id, 20)).map((d) => d.id)).toEqual([bob2.id])
      // Someone else's design answers like a missing one.
      expect((yield* Effect.flip(Ai.similarDesigns(bob, alice1.id, 5)))._tag).toBe("DesignNotFound")
      expect((yield* Effect.flip(Ai.similarDesigns(alice, randomUUID() as DesignId, 5)))._tag).toBe("DesignNotFound")

      // Each namespace holds its owner's vectors only.
      const index = yield* VectorIndex.VectorIndex
      const probe = LanguageModel.fakeEmbedding("Summer surf club Surf club 1987")
      const inAlice = yield* index.query({ namespace: designNamespace(alice.userId), values: probe, topK: 100 })
      expect(inAlice.map((m) => m.id).sort()).toEqual([alice1.id, alice2.id].sort())
    }).pipe(Effect.provide(aiLayer())))

  it.effect("drops a foreign or stale id even if it reached the owner's namespace", () =>
    Effect.gen(function*() {
      const alice = yield* subscriber
      const bob = yield* subscriber
      const alice1 = yield* createIndexed(alice, "Summer surf club", "t-shirt", "Surf club 1987")
      const bob1 = yield* createIndexed(bob, "Summer surf club", "t-shirt", "Surf club 1987")
      // Corrupt Alice's namespace with Bob's design and an id that is no design at all.
      const index = yield* VectorIndex.VectorIndex
      const values = LanguageModel.fakeEmbedding("Summer surf club")
      yield* index.upsert({ namespace: designNamespace(alice.userId), id: bob1.id, values, metadata: {} })
      yield* index.upsert({ namespace: designNamespace(alice.userId), id: "not-a-design", values, metadata: {} })
      expect(yield* Ai.similarDesigns(alice, alice1.id, 20)).toEqual([])
    }).pipe(Effect.provide(aiLayer())))

  it.effect("a job naming the wrong owner still indexes into the stored owner's namespace", () =>
    Effect.gen(function*() {
      const alice = yield* subscriber
      const bob = yield* subscriber
      const design = yield* Designs.createDesign(alice, { name: "Surf", productType: "t-shirt", document: documentWith("Surf") })
      expect(yield* Ai.indexDesign(design.id, bob.userId)).toBe("indexed")
      const index = yield* VectorIndex.VectorIndex
      const values = LanguageModel.fakeEmbedding("Surf")
      expect(yield* index.query({ namespace: designNamespace(bob.userId), values, topK: 10 })).toEqual([])
      expect((yield* index.query({ namespace: designNamespace(alice.userId), values, topK: 10 })).map((m) => m.id))
        .toEqual([design.id])
    }).pipe(Effect.provide(aiLayer())))

  it.effect("indexing is idempotent, and a deleted design's vector is removed", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      const surf = yield* createIndexed(actor, "Summer surf club", "t-shirt", "Surf club 1987")
      const surf2 = yield* createIndexed(actor, "Summer surf club 2", "t-shirt", "Surf club 1988")
      yield* Ai.indexDesign(surf2.id)
      yield* Ai.indexDesign(surf2.id)
      const index = yield* VectorIndex.VectorIndex
      const namespace = designNamespace(actor.userId)
      const values = LanguageModel.fakeEmbedding("surf")
      expect((yield* index.query({ namespace, values, topK: 100 })).length).toBe(2)

      yield* Designs.deleteDesign(actor, surf2.id)
      // Before the job runs, the stale vector is dropped because the design is not live.
      expect(yield* Ai.similarDesigns(actor, surf.id, 5)).toEqual([])
      expect(yield* Ai.indexDesign(surf2.id, actor.userId)).toBe("removed")
      expect(yield* Ai.indexDesign(surf2.id, actor.userId)).toBe("removed")
      expect((yield* index.query({ namespace, values, topK: 100 })).map((m) => m.id)).toEqual([surf.id])
    }).pipe(Effect.provide(aiLayer())))

  it.effect("forgetUser deletes the user's whole namespace", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      yield* createIndexed(actor, "Summer surf club", "t-shirt", "Surf club 1987")
      yield* Ai.forgetUser(actor.userId)
      const index = yield* VectorIndex.VectorIndex
      const values = LanguageModel.fakeEmbedding("surf")
      expect(yield* index.query({ namespace: designNamespace(actor.userId), values, topK: 10 })).toEqual([])
    }).pipe(Effect.provide(aiLayer())))

  it.effect("allows SIMILAR_SEARCHES_PER_HOUR searches per user, then AiRateLimited naming the budget until the hour has passed", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      const surf = yield* createIndexed(actor, "Summer surf club", "t-shirt", "Surf club 1987")
      for (let i = 0; i < 3; i++) yield* Ai.similarDesigns(actor, surf.id, 5)
      const limited = yield* Effect.flip(Ai.similarDesigns(actor, surf.id, 5))
      expect(limited).toMatchObject({ _tag: "AiRateLimited", budget: "similar_designs", limit: 3 })
      if (limited._tag === "AiRateLimited") {
        expect(limited.retryAfterSeconds).toBeGreaterThan(0)
        expect(limited.retryAfterSeconds).toBeLessThanOrEqual(3600)
      }
      // A budget of its own: suggestions are not charged for searches.
      expect((yield* Ai.suggestDesigns(actor, request)).length).toBeGreaterThan(0)
      // Somebody else still has their whole budget.
      const other = yield* subscriber
      const theirs = yield* createIndexed(other, "Summer surf club", "t-shirt", "Surf club 1987")
      yield* Ai.similarDesigns(other, theirs.id, 5)
      yield* TestClock.adjust(Duration.minutes(59))
      expect((yield* Effect.flip(Ai.similarDesigns(actor, surf.id, 5)))._tag).toBe("AiRateLimited")
      yield* TestClock.adjust(Duration.minutes(1))
      for (let i = 0; i < 3; i++) yield* Ai.similarDesigns(actor, surf.id, 5)
      expect((yield* Effect.flip(Ai.similarDesigns(actor, surf.id, 5)))._tag).toBe("AiRateLimited")
    }).pipe(Effect.provide(aiLayer({ config: { similarSearchesPerHour: 3 } }))))

  it.effect("a search that finds no design of the caller's, or no provider, spends nothing", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      const other = yield* subscriber
      const theirs = yield* createIndexed(other, "Summer surf club", "t-shirt", "Surf club 1987")
      for (let i = 0; i < 3; i++) {
        expect((yield* Effect.flip(Ai.similarDesigns(actor, randomUUID() as DesignId, 5)))._tag).toBe("DesignNotFound")
        expect((yield* Effect.flip(Ai.similarDesigns(actor, theirs.id, 5)))._tag).toBe("DesignNotFound")
      }
      const mine = yield* createIndexed(actor, "Summer surf club", "t-shirt", "Surf club 1987")
      yield* Ai.similarDesigns(actor, mine.id, 5)
    }).pipe(Effect.provide(aiLayer({ config: { similarSearchesPerHour: 1 } }))))

  it.effect("without a provider, similar designs answer FeatureUnavailable and spend no budget", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      const design = yield* Designs.createDesign(actor, { name: "Surf", productType: "t-shirt", document: documentWith("Surf") })
      for (let i = 0; i < 3; i++) {
        expect(yield* Effect.flip(Ai.similarDesigns(actor, design.id, 5))).toMatchObject({ _tag: "FeatureUnavailable" })
      }
    }).pipe(Effect.provide(aiLayer({ vectors: VectorIndex.layerUnconfigured, config: { similarSearchesPerHour: 1 } }))))

  it.effect("without a vector index: FeatureUnavailable for similar designs, and indexing is skipped", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      const design = yield* Designs.createDesign(actor, { name: "Surf", productType: "t-shirt", document: documentWith("Surf") })
      expect(yield* Ai.indexDesign(design.id)).toBe("skipped")
      const error = yield* Effect.flip(Ai.similarDesigns(actor, design.id, 5))
      expect(error).toMatchObject({ _tag: "FeatureUnavailable", feature: "similar_designs" })
      // Suggestions need only the language model.
      expect((yield* Ai.suggestDesigns(actor, request)).length).toBeGreaterThan(0)
    }).pipe(Effect.provide(aiLayer({ vectors: VectorIndex.layerUnconfigured }))))

  it.effect("without a language model: FeatureUnavailable for similar designs too", () =>
    Effect.gen(function*() {
      const actor = yield* subscriber
      const design = yield* Designs.createDesign(actor, { name: "Surf", productType: "t-shirt", document: documentWith("Surf") })
      expect(yield* Ai.indexDesign(design.id)).toBe("skipped")
      expect(yield* Effect.flip(Ai.similarDesigns(actor, design.id, 5))).toMatchObject({
        _tag: "FeatureUnavailable",
        feature: "similar_designs"
      })
    }).pipe(Effect.provide(aiLayer({ model: LanguageModel.layerUnconfigured }))))
})

describe("VectorIndex memory layer", () => {
  it.effect("refuses an empty namespace as a defect instead of searching everything", () =>
    Effect.gen(function*() {
      const index = yield* VectorIndex.VectorIndex
      const exit = yield* Effect.exit(index.query({ namespace: "", values: [1, 0], topK: 5 }))
      expect(exit._tag).toBe("Failure")
    }).pipe(Effect.provide(VectorIndex.layerMemory)))
})
