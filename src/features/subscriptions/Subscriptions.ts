import { Clock, Context, Duration, Effect, Layer, Option } from "effect"
import * as ReadThrough from "../../capabilities/cache/ReadThrough.ts"
import { SubscriptionInactive, SubscriptionNotFound } from "../../domain/DesignErrors.ts"
import type { Actor } from "../../domain/Policy.ts"
import { canCreate, periodContaining, remaining } from "../../domain/Quota.ts"
import {
  type PlanId,
  type QuotaStatus,
  Subscription,
  type SubscriptionStatus,
  summarize,
  type Usage
} from "../../domain/Subscription.ts"
import type { UserId } from "../../domain/User.ts"
import { DesignUsage } from "./DesignUsage.ts"
import { SubscriptionsRepository } from "./SubscriptionsRepository.ts"
import { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

/** Subscription look-ups, cached in the shared cache (30 s, invalidated on every change). */
export class SubscriptionLookup extends Context.Service<SubscriptionLookup, {
  readonly forUser: (userId: UserId) => Effect.Effect<Option.Option<Subscription>, DatabaseUnavailable>
  readonly invalidate: (userId: UserId) => Effect.Effect<void>
}>()("customify/features/subscriptions/SubscriptionLookup") {}

export const layerLookup = Layer.effect(SubscriptionLookup, Effect.gen(function*() {
  const repository = yield* SubscriptionsRepository
  const cache = yield* ReadThrough.make({
    namespace: "subscription",
    version: 1,
    schema: Subscription,
    timeToLive: Duration.seconds(30)
  })
  return SubscriptionLookup.of({
    forUser: (userId) => cache.get(userId, repository.findForUser(userId)),
    invalidate: (userId) => cache.invalidate(userId)
  })
}))

/**
 * The user's subscription when it may create (designs, renders): only an active one may;
 * otherwise `SubscriptionInactive` with its status (`none` without any). Reads stay open to all.
 */
export const requireActive = Effect.fnUntraced(function*(userId: UserId) {
  const subscription = yield* (yield* SubscriptionLookup).forUser(userId)
  if (Option.isNone(subscription)) return yield* new SubscriptionInactive({ status: "none" })
  if (!canCreate(subscription.value.status)) return yield* new SubscriptionInactive({ status: subscription.value.status })
  return subscription.value
})

const mine = Effect.fnUntraced(function*(actor: Actor) {
  const found = yield* (yield* SubscriptionLookup).forUser(actor.userId)
  return yield* Option.match(found, { onNone: () => Effect.fail(new SubscriptionNotFound()), onSome: Effect.succeed })
})

const currentPeriod = Effect.map(Clock.currentTimeMillis, (millis) => periodContaining(new Date(millis)))

export const getSubscription = Effect.fn("getSubscription")(function*(actor: Actor) {
  return summarize(yield* mine(actor), yield* currentPeriod)
})

export const getUsage = Effect.fn("getUsage")(function*(actor: Actor) {
  const subscription = yield* mine(actor)
  const period = yield* currentPeriod
  const used = yield* (yield* DesignUsage).used(actor.userId, period.start)
  return {
    periodStart: period.start,
    periodEnd: period.end,
    designsCreated: used,
    designsLimit: subscription.plan.monthlyDesignQuota,
    remaining: remaining(subscription.plan.monthlyDesignQuota, used)
  } satisfies Usage
})

/** Whether the caller may create a design now, and how many are left this month. */
export const getQuota = Effect.fn("getQuota")(function*(actor: Actor) {
  const usage = yield* getUsage(actor)
  const subscription = yield* mine(actor)
  return {
    allowed: canCreate(subscription.status) && (usage.remaining === null || usage.remaining > 0),
    remaining: usage.remaining,
    resetsAt: usage.periodEnd
  } satisfies QuotaStatus
})

/** For the integration layer: sets plan and status, effective at once. */
export const setSubscription = Effect.fn("setSubscription")(function*(
  userId: UserId,
  plan: PlanId,
  status: SubscriptionStatus
) {
  // After the commit, and also when the write failed: a commit whose outcome is unknown may have happened.
  const updated = yield* (yield* SubscriptionsRepository).set(userId, plan, status).pipe(
    Effect.ensuring((yield* SubscriptionLookup).invalidate(userId))
  )
  const subscription = yield* Option.match(updated, {
    onNone: () => Effect.fail(new SubscriptionNotFound()),
    onSome: Effect.succeed
  })
  return summarize(subscription, yield* currentPeriod)
})
