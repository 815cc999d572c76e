import { randomUUID } from "node:crypto"
import { describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import type { Actor } from "../../src/domain/Policy.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Designs from "../../src/features/designs/Designs.ts"
import * as RenderJobs from "../../src/features/jobs/RenderJobs.ts"
import * as Subscriptions from "../../src/features/subscriptions/Subscriptions.ts"
import { validDocument } from "../support/http.ts"
import { memoryLayer } from "../support/memory.ts"

/** requestRender on memory layers, the clock under the test's control (PostgreSQL: test/http/limits.test.ts). */
const subscriber = Effect.gen(function*() {
  const actor: Actor = { userId: randomUUID() as UserId, role: "user", sessionId: "s".repeat(22) }
  yield* Subscriptions.setSubscription(actor.userId, "pro", "active")
  const design = yield* Designs.createDesign(actor, { name: "Poster", productType: "poster", document: validDocument() as never })
  return { actor, design }
})

describe("requestRender", () => {
  it.effect("allows RENDER_JOBS_PER_HOUR within any hour, sliding: Retry-After is when the oldest leaves the window", () =>
    Effect.gen(function*() {
      const { actor, design } = yield* subscriber
      yield* RenderJobs.requestRender(actor, design.id, "render")
      yield* TestClock.adjust(Duration.minutes(20))
      yield* RenderJobs.requestRender(actor, design.id, "pdf")
      yield* RenderJobs.requestRender(actor, design.id, "render")
      const refused = yield* Effect.flip(RenderJobs.requestRender(actor, design.id, "render"))
      expect(refused).toMatchObject({ _tag: "RenderRateLimited", limit: 3, retryAfterSeconds: 40 * 60 })
      // Somebody else is not held back.
      const other = yield* subscriber
      yield* RenderJobs.requestRender(other.actor, other.design.id, "render")
      yield* TestClock.adjust(Duration.minutes(40))
      // Exactly an hour old: out of the window; one more, then refused until the next leaves.
      yield* RenderJobs.requestRender(actor, design.id, "render")
      expect(yield* Effect.flip(RenderJobs.requestRender(actor, design.id, "pdf"))).toMatchObject({
        _tag: "RenderRateLimited",
        retryAfterSeconds: 20 * 60
      })
    }).pipe(Effect.provide(memoryLayer({ renderJobsPerHour: 3 }))))

  it.effect("needs an active subscription, and a refused request spends nothing", () =>
    Effect.gen(function*() {
      const { actor, design } = yield* subscriber
      yield* Subscriptions.setSubscription(actor.userId, "pro", "past_due")
      for (let i = 0; i < 3; i++) {
        expect(yield* Effect.flip(RenderJobs.requestRender(actor, design.id, "render"))).toMatchObject({
          _tag: "SubscriptionInactive",
          status: "past_due"
        })
      }
      yield* Subscriptions.setSubscription(actor.userId, "pro", "active")
      yield* RenderJobs.requestRender(actor, design.id, "render")
    }).pipe(Effect.provide(memoryLayer({ renderJobsPerHour: 1 }))))
})
