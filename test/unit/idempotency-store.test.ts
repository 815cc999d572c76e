import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import { IdempotencyStore, layerMemory } from "../../src/features/idempotency/IdempotencyStore.ts"
import { fingerprint } from "../../src/features/idempotency/IdempotentLive.ts"

/** The key's life on the memory store (the SQL store's rules, run in test/integration/idempotent-creates.test.ts). */
const request = (overrides: { readonly userId?: string; readonly fingerprint?: string } = {}) => ({
  userId: "u1",
  key: "k1",
  fingerprint: "f1",
  lease: Duration.seconds(35),
  ttl: Duration.hours(24),
  ...overrides
})
const answer = { status: 201, headers: { "content-type": "application/json", etag: "\"1\"" }, body: "{\"id\":\"d1\"}" }

describe("IdempotencyStore (memory)", () => {
  it.effect("claimed, in progress for the others, replayed once answered, until it expires", () =>
    Effect.gen(function*() {
      const store = yield* IdempotencyStore
      const claim = yield* store.claim(request())
      expect(claim._tag).toBe("Claimed")
      expect(yield* store.claim(request())).toEqual({ _tag: "InProgress", retryAfterSeconds: 35 })
      expect(yield* store.claim(request({ fingerprint: "f2" }))).toEqual({ _tag: "OtherRequest" })
      expect((yield* store.claim(request({ userId: "u2" })))._tag).toBe("Claimed")
      yield* store.complete({ userId: "u1", key: "k1", token: claim._tag === "Claimed" ? claim.token : "" }, answer)
      expect(yield* store.claim(request())).toEqual({ _tag: "Replay", answer })
      yield* TestClock.adjust(Duration.hours(24))
      expect((yield* store.claim(request({ fingerprint: "f2" })))._tag).toBe("Claimed")
    }).pipe(Effect.provide(layerMemory)))

  it.effect("a released key is free; a lease that ran out is taken over by the same request only", () =>
    Effect.gen(function*() {
      const store = yield* IdempotencyStore
      const first = yield* store.claim(request())
      if (first._tag !== "Claimed") throw new Error("expected a claim")
      yield* store.release({ userId: "u1", key: "k1", token: first.token })
      const second = yield* store.claim(request())
      if (second._tag !== "Claimed") throw new Error("expected a claim after the release")
      yield* TestClock.adjust(Duration.seconds(35))
      expect(yield* store.claim(request({ fingerprint: "f2" }))).toEqual({ _tag: "OtherRequest" })
      const third = yield* store.claim(request())
      expect(third._tag).toBe("Claimed")
      // The claim that lost its lease can neither answer nor free the key.
      yield* store.complete({ userId: "u1", key: "k1", token: second.token }, answer)
      yield* store.release({ userId: "u1", key: "k1", token: second.token })
      expect((yield* store.claim(request()))._tag).toBe("InProgress")
    }).pipe(Effect.provide(layerMemory)))

  it.effect("prune deletes the expired keys only", () =>
    Effect.gen(function*() {
      const store = yield* IdempotencyStore
      yield* store.claim(request())
      yield* TestClock.adjust(Duration.hours(23))
      yield* store.claim(request({ userId: "u2" }))
      yield* TestClock.adjust(Duration.hours(1))
      expect(yield* store.prune).toBe(1)
      expect(yield* store.prune).toBe(0)
    }).pipe(Effect.provide(layerMemory)))
})

describe("fingerprint", () => {
  it("is the same for the same JSON spelled otherwise, different for another path, method or body", () => {
    const base = fingerprint("POST", "/api/v1/designs", "{\"a\":1,\"b\":{\"c\":[1,2]}}")
    expect(fingerprint("POST", "/api/v1/designs?x=1", " { \"b\": {\"c\": [1, 2]}, \"a\": 1.0 } ")).toBe(base)
    expect(fingerprint("POST", "/api/v1/designs/1/duplicate", "{\"a\":1,\"b\":{\"c\":[1,2]}}")).not.toBe(base)
    expect(fingerprint("PUT", "/api/v1/designs", "{\"a\":1,\"b\":{\"c\":[1,2]}}")).not.toBe(base)
    expect(fingerprint("POST", "/api/v1/designs", "{\"a\":1,\"b\":{\"c\":[2,1]}}")).not.toBe(base)
    expect(fingerprint("POST", "/x", "")).toBe(fingerprint("POST", "/x", "{}"))
  })
})
