import { it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import { CacheStore, layerMemory } from "../../src/capabilities/cache/CacheStore.ts"

it.effect("the in-memory cache stores, expires by the Effect clock and deletes", () =>
  Effect.gen(function*() {
    const cache = yield* CacheStore
    expect(cache.kind).toBe("memory")
    yield* cache.set("session:1", "alice", Duration.seconds(10))
    yield* cache.set("session:2", "bob", Duration.minutes(5))
    expect(yield* cache.get("session:1")).toEqual(Option.some("alice"))
    yield* TestClock.adjust(Duration.seconds(10))
    expect(yield* cache.get("session:1")).toEqual(Option.none())
    expect(yield* cache.get("session:2")).toEqual(Option.some("bob"))
    yield* cache.delete("session:2")
    expect(yield* cache.get("session:2")).toEqual(Option.none())
    yield* cache.ping
  }).pipe(Effect.provide(layerMemory)))

it.effect("the in-memory cache sets if absent or answers what is there, and compares and sets, like Redis", () =>
  Effect.gen(function*() {
    const cache = yield* CacheStore
    expect(yield* cache.setIfAbsentOrGet("k", "mine", Duration.seconds(10))).toEqual(Option.none())
    expect(yield* cache.setIfAbsentOrGet("k", "theirs", Duration.seconds(10))).toEqual(Option.some("mine"))
    expect(yield* cache.setIfEquals("k", "theirs", "replaced", Duration.seconds(10))).toBe(false)
    expect(yield* cache.get("k")).toEqual(Option.some("mine"))
    expect(yield* cache.setIfEquals("k", "mine", "replaced", Duration.seconds(1))).toBe(true)
    expect(yield* cache.get("k")).toEqual(Option.some("replaced"))
    yield* TestClock.adjust(Duration.seconds(1))
    // Expired is absent: nothing to compare with, and free to set.
    expect(yield* cache.setIfEquals("k", "replaced", "again", Duration.seconds(10))).toBe(false)
    expect(yield* cache.setIfAbsentOrGet("k", "new", Duration.seconds(10))).toEqual(Option.none())
    expect(yield* cache.get("k")).toEqual(Option.some("new"))
  }).pipe(Effect.provide(layerMemory)))
