import { describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { RateLimiter } from "effect/persistence"
import { expect } from "vitest"
import * as MemoryRateLimitStore from "../../src/capabilities/cache/MemoryRateLimitStore.ts"
import { designIdOfVector } from "../../src/features/ai/Ai.ts"

describe("guards", () => {
  it("similar search reads a vector's id only as a canonical design id", () => {
    // `Schema.is` would check only the decoded side (a plain string): a non-UUID would reach the
    // design lookup (500) and an upper-case one would be a second cache key for one design.
    expect(Option.isNone(designIdOfVector("not-a-uuid"))).toBe(true)
    expect(designIdOfVector("ABCDEF00-0000-4000-8000-000000000000")).toEqual(Option.some("abcdef00-0000-4000-8000-000000000000"))
  })

  it.effect("a user's hourly AI budget is not reset by other clients' requests (memory store, shared with the per-address counters)", () =>
    Effect.gen(function*() {
      // The embedded default: one bounded store (RATE_LIMIT_MEMORY_ENTRIES) for the per-address
      // limit and for the hourly per-user AI budgets (src/features/ai/Ai.ts spendBudget).
      const { store } = yield* MemoryRateLimitStore.make(1_000)
      const limiter = yield* RateLimiter.make.pipe(Effect.provideService(RateLimiter.RateLimiterStore, store))
      const similar = limiter.consume({ key: "similar:u1", limit: 3, window: Duration.hours(1), algorithm: "fixed-window", onExceeded: "fail" })
      for (let i = 0; i < 3; i++) yield* similar
      expect((yield* Effect.flip(similar)).reason._tag).toBe("RateLimitExceeded")
      // One minute's requests from 1,000 addresses (an IPv6 client has 2^64 of them).
      for (let i = 0; i < 1_000; i++) {
        yield* limiter.consume({ key: `ip:2001:db8::${i.toString(16)}`, limit: 100, window: Duration.minutes(1), algorithm: "fixed-window", onExceeded: "fail" })
      }
      // The paid budget of the hour is still spent.
      const after = yield* Effect.exit(similar)
      expect(after._tag, "the 4th similar search of the hour was allowed").toBe("Failure")
    }))
})
