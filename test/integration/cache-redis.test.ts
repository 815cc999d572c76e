import { randomUUID } from "node:crypto"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { CacheStore, layerRedis } from "../../src/capabilities/cache/CacheStore.ts"
import { type RedisTopology, redisLayer, redisTopologies } from "../support/redisTopology.ts"
import { freePort } from "../support/servers.ts"

const run = <A, E>(topology: RedisTopology, program: Effect.Effect<A, E, CacheStore>) =>
  Effect.runPromise(program.pipe(Effect.provide(redisLayer(topology))))

describe.each(redisTopologies())("the Redis cache ($name)", (topology) => {
  it("stores, expires and deletes on a real Redis", async () => {
    const key = `test:${randomUUID()}`
    const result = await run(topology, Effect.gen(function*() {
      const cache = yield* CacheStore
      yield* cache.ping
      yield* cache.set(key, "value", Duration.millis(1_000))
      const stored = yield* cache.get(key)
      yield* Effect.sleep(Duration.millis(1_300))
      const expired = yield* cache.get(key)
      yield* cache.set(key, "again", Duration.minutes(1))
      yield* cache.delete(key)
      const deleted = yield* cache.get(key)
      return { kind: cache.kind, description: cache.description, stored, expired, deleted }
    }))
    expect(result.kind).toBe("redis")
    expect(result.description).toMatch(
      topology.name === "cluster" ? /^redis cluster (127\.0\.0\.1:\d+,?){3}$/ : /^redis 127\.0\.0\.1:\d+\/0$/
    )
    expect(result.stored).toEqual(Option.some("value"))
    expect(result.expired).toEqual(Option.none())
    expect(result.deleted).toEqual(Option.none())
  })

  it("sets if absent or answers what is there, and compares and sets, atomically", async () => {
    const key = `test:${randomUUID()}`
    const result = await run(topology, Effect.gen(function*() {
      const cache = yield* CacheStore
      const first = yield* cache.setIfAbsentOrGet(key, "mine", Duration.seconds(10))
      const second = yield* cache.setIfAbsentOrGet(key, "theirs", Duration.seconds(10))
      const wrongExpected = yield* cache.setIfEquals(key, "theirs", "replaced", Duration.seconds(10))
      const afterWrong = yield* cache.get(key)
      const rightExpected = yield* cache.setIfEquals(key, "mine", "replaced", Duration.millis(500))
      const afterRight = yield* cache.get(key)
      const ttl = yield* cache.timeToLive(key)
      yield* cache.delete(key)
      const onMissing = yield* cache.setIfEquals(key, "replaced", "again", Duration.seconds(10))
      const missing = yield* cache.get(key)
      return { first, second, wrongExpected, afterWrong, rightExpected, afterRight, ttl, onMissing, missing }
    }))
    expect(result.first).toEqual(Option.none())
    expect(result.second).toEqual(Option.some("mine"))
    expect(result.wrongExpected).toBe(false)
    expect(result.afterWrong).toEqual(Option.some("mine"))
    expect(result.rightExpected).toBe(true)
    expect(result.afterRight).toEqual(Option.some("replaced"))
    expect(Option.map(result.ttl, Duration.toMillis).pipe(Option.getOrElse(() => 0))).toBeLessThanOrEqual(500)
    expect(result.onMissing).toBe(false)
    expect(result.missing).toEqual(Option.none())
  })
})

describe("the Redis cache (one node, unreachable)", () => {
  it("fails fast, without hanging, when Redis is unreachable", async () => {
    const closed = `redis://127.0.0.1:${await freePort()}/0`
    const started = performance.now()
    const outcome = await Effect.runPromise(Effect.gen(function*() {
      const cache = yield* CacheStore
      return yield* cache.get("anything").pipe(Effect.result)
    }).pipe(Effect.provide(Layer.fresh(layerRedis(Redacted.make(closed))))))
    expect(outcome._tag).toBe("Failure")
    expect(performance.now() - started).toBeLessThan(3_000)
  })
})
