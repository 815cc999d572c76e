import { describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { RateLimiter } from "effect/persistence"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { expect } from "vitest"
import * as MemoryRateLimitStore from "../../src/capabilities/cache/MemoryRateLimitStore.ts"

const consume = (limiter: RateLimiter.RateLimiter, key: string) =>
  limiter.consume({ key, limit: 5, window: Duration.minutes(1), algorithm: "fixed-window", onExceeded: "fail" }).pipe(
    Effect.map((result) => ({ allowed: true, remaining: result.remaining, resetAfter: Duration.toMillis(result.resetAfter) })),
    Effect.catch((error) =>
      Effect.succeed({
        allowed: false,
        remaining: -1,
        resetAfter: error.reason._tag === "RateLimitExceeded" ? Duration.toMillis(error.reason.retryAfter) : -1
      })
    )
  )

describe("the bounded memory rate-limit store", () => {
  it.effect("keeps at most its bound however many addresses it sees, and still limits each", () =>
    Effect.gen(function*() {
      const { size, store } = yield* MemoryRateLimitStore.make(100)
      const limiter = yield* RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))
      for (let i = 0; i < 5_000; i++) yield* consume(limiter, `ip:10.0.${Math.floor(i / 256)}.${i % 256}`)
      expect(size()).toBeLessThanOrEqual(100)
      const outcomes = yield* Effect.forEach(Array.from({ length: 7 }), () => consume(limiter, "ip:203.0.113.9"))
      expect(outcomes.map((outcome) => outcome.allowed)).toEqual([true, true, true, true, true, false, false])
      // Expired counters go as new addresses arrive: after the window, a handful of new ones leave few behind.
      yield* TestClock.adjust(Duration.minutes(2))
      for (let i = 0; i < 10; i++) yield* consume(limiter, `ip:192.0.2.${i}`)
      expect(size()).toBe(10)
    }))

  it.effect("answers exactly like Effect's memory store for keys within its bound (any sequence)", () =>
    Effect.gen(function*() {
      const steps = fc.sample(
        fc.array(fc.oneof(
          fc.record({ key: fc.constantFrom("a", "b", "c", "d"), wait: fc.constant(0) }),
          fc.record({ key: fc.constantFrom("a", "b", "c", "d"), wait: fc.integer({ min: 1, max: 40_000 }) })
        ), { minLength: 50, maxLength: 200 }),
        { numRuns: 20, seed: 42 }
      )
      for (const sequence of steps) {
        const bounded = yield* RateLimiter.make.pipe(
          Effect.provideService(RateLimiter.RateLimiterStore, (yield* MemoryRateLimitStore.make(10)).store)
        )
        const reference = yield* RateLimiter.make.pipe(Effect.provide(RateLimiter.layerStoreMemory))
        for (const step of sequence) {
          if (step.wait > 0) yield* TestClock.adjust(Duration.millis(step.wait))
          expect(yield* consume(bounded, step.key)).toEqual(yield* consume(reference, step.key))
        }
      }
    }))
})
