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
