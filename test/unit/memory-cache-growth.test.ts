import { it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import { layerMemory } from "../../src/capabilities/cache/CacheStore.ts"
import * as ReadThrough from "../../src/capabilities/cache/ReadThrough.ts"

/**
 * the memory cache store (used whenever REDIS_URL is unset, production included) keeps
 * every key it was ever given: expired entries are dropped only when the same key is read again.
 * Since ADR 0016 every miss writes a claim marker, also for ids that do not exist, so a client
 * reading random ids (GET /designs/{random uuid}: 404) grows the heap without bound.
 */
const Item = Schema.Struct({ id: Schema.String })

it.effect("misses on ids that do not exist leave nothing behind once their markers expired", () =>
  Effect.scoped(Effect.gen(function*() {
    // Find the store's own Map: the one every key of the namespace lands in.
    const maps: Array<Map<unknown, unknown>> = []
    const Original = globalThis.Map
    globalThis.Map = class extends Original<unknown, unknown> {
      constructor(entries?: Iterable<readonly [unknown, unknown]> | null) {
        super(entries)
        maps.push(this)
      }
    } as MapConstructor
    let context
    try {
      context = yield* Layer.build(layerMemory)
    } finally {
      globalThis.Map = Original
    }
    const cache = yield* ReadThrough.make({ namespace: "item", version: 1, schema: Item, timeToLive: Duration.seconds(60) }).pipe(
      Effect.provide(context)
    )
    const entries = () => maps.find((map) => [...map.keys()].some((key) => String(key).startsWith("item:")))?.size ?? 0
    for (let i = 0; i < 10_000; i++) {
      expect(yield* cache.get(`missing-${i}`, Effect.succeed(Option.none()))).toEqual(Option.none())
    }
    // Every marker has long expired (10 s), and new requests keep arriving.
    yield* TestClock.adjust(Duration.hours(1))
    for (let i = 0; i < 10; i++) yield* cache.get(`later-${i}`, Effect.succeed(Option.none()))
    expect(entries()).toBeLessThan(1_000)
  })))
