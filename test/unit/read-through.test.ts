import { it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import { CacheError, CacheStore, layerMemory } from "../../src/capabilities/cache/CacheStore.ts"
import * as ReadThrough from "../../src/capabilities/cache/ReadThrough.ts"

/**
 * What ReadThrough asks of the store on each path (ADR 0016), and the retry of an invalidation
 * the store refused, under the test clock. The races themselves are in
 * test/integration/cache-no-resurrection.test.ts.
 */
const Item = Schema.Struct({ id: Schema.String, version: Schema.Number })
const TTL = Duration.seconds(60)

/** The memory store, counting calls by operation, failing every call while `down`. */
const recording = () => {
  const calls: Array<string> = []
  const state = { down: false }
  const layer = Layer.effect(CacheStore, Effect.gen(function*() {
    const store = yield* CacheStore
    const call = <A>(name: string, effect: Effect.Effect<A, CacheError>) =>
      Effect.suspend(() => {
        calls.push(name)
        return state.down ? Effect.fail(new CacheError({ cause: "down" })) : effect
      })
    return CacheStore.of({
      ...store,
      get: (key) => call("get", store.get(key)),
      set: (key, value, ttl) => call("set", store.set(key, value, ttl)),
      delete: (key) => call("delete", store.delete(key)),
      setIfAbsentOrGet: (key, value, ttl) => call("setIfAbsentOrGet", store.setIfAbsentOrGet(key, value, ttl)),
      setIfEquals: (key, expected, value, ttl) => call("setIfEquals", store.setIfEquals(key, expected, value, ttl))
    })
  })).pipe(Layer.provide(layerMemory))
  const taken = () => calls.splice(0)
  return { layer, state, taken }
}

const setUp = (store: Layer.Layer<CacheStore>) =>
  ReadThrough.make({ namespace: "item", version: 1, schema: Item, timeToLive: TTL }).pipe(Effect.provide(store))

it.effect("a hit is one GET; a miss after a write adds only the compare-and-set; a cold miss also claims the key", () =>
  Effect.scoped(Effect.gen(function*() {
    const store = recording()
    const cache = yield* setUp(store.layer)
    let loads = 0
    const load = Effect.sync(() => {
      loads++
      return Option.some({ id: "a", version: 1 })
    })
    expect(yield* cache.get("a", load)).toEqual(Option.some({ id: "a", version: 1 }))
    expect(store.taken()).toEqual(["get", "setIfAbsentOrGet", "setIfEquals"])
    expect(yield* cache.get("a", load)).toEqual(Option.some({ id: "a", version: 1 }))
    expect(store.taken()).toEqual(["get"])
    yield* cache.invalidate("a")
    expect(store.taken()).toEqual(["set"])
    yield* cache.get("a", load)
    expect(store.taken()).toEqual(["get", "setIfEquals"])
    expect(loads).toBe(2)
  })))

it.effect("a read whose look at the store failed stores nothing", () =>
  Effect.scoped(Effect.gen(function*() {
    const store = recording()
    const cache = yield* setUp(store.layer)
    store.state.down = true
    yield* cache.get("a", Effect.succeed(Option.some({ id: "a", version: 1 })))
    store.state.down = false
    expect(store.taken()).toEqual(["get"])
  })))

it.effect("an invalidation the store refused is retried until delivered, its key read from the source meanwhile", () =>
  Effect.scoped(Effect.gen(function*() {
    const store = recording()
    const cache = yield* setUp(store.layer)
    let version = 1
    const load = Effect.sync(() => Option.some({ id: "a", version }))
    yield* cache.get("a", load) // cached: version 1
    store.state.down = true
    version = 2
    yield* cache.invalidate("a") // refused
    store.taken()
    // Still refused: this instance reads the source, without asking the store.
    expect(yield* cache.get("a", load)).toEqual(Option.some({ id: "a", version: 2 }))
    expect(store.taken()).toEqual([])
    yield* TestClock.adjust(ReadThrough.RETRY_INTERVAL)
    expect(store.taken()).toEqual(["set"]) // tried again, refused again
    store.state.down = false
    yield* TestClock.adjust(ReadThrough.RETRY_INTERVAL)
    expect(store.taken()).toEqual(["set"]) // delivered
    yield* TestClock.adjust(Duration.seconds(5))
    expect(store.taken()).toEqual([]) // and no more retries
    expect(yield* cache.get("a", load)).toEqual(Option.some({ id: "a", version: 2 }))
    expect(store.taken()).toEqual(["get", "setIfEquals"])
  })))

it.effect("an invalidation never delivered is given up once every entry it covered has expired", () =>
  Effect.scoped(Effect.gen(function*() {
    const store = recording()
    const cache = yield* setUp(store.layer)
    const load = Effect.succeed(Option.some({ id: "a", version: 1 }))
    store.state.down = true
    yield* cache.invalidate("a")
    yield* TestClock.adjust(Duration.sum(ReadThrough.MARKER_TTL, TTL))
    store.taken()
    yield* cache.get("a", load)
    expect(store.taken()).toEqual([]) // still within the window (one retry interval of margin)
    yield* TestClock.adjust(Duration.times(ReadThrough.RETRY_INTERVAL, 2))
    store.taken()
    yield* cache.get("a", load)
    expect(store.taken()).toEqual(["get"]) // given up: the store is asked again (and is still down)
  })))
