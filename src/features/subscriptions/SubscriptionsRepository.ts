import { Clock, Context, Effect, Layer, Option, Ref } from "effect"
import { SqlClient } from "effect/sql"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { type Plan, type PlanId, Subscription, type SubscriptionStatus } from "../../domain/Subscription.ts"
import { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

export class SubscriptionsRepository extends Context.Service<SubscriptionsRepository, {
  readonly findForUser: (userId: UserId) => Effect.Effect<Option.Option<Subscription>, DatabaseUnavailable>
  /** Sets plan and status (creating the row if the user has none); None when the user does not exist. */
  readonly set: (userId: UserId, plan: PlanId, status: SubscriptionStatus) => Effect.Effect<Option.Option<Subscription>, DatabaseUnavailable>
}>()("customify/features/subscriptions/SubscriptionsRepository") {}

export const layerSql = Layer.effect(SubscriptionsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const findForUser = StoredRows.findOneOption({
    Request: UserId,
    Result: Subscription,
    // The plan comes nested, as the entity holds it.
    execute: (userId) =>
      sql`
        SELECT s.user_id, s.status, s.created_at, s.updated_at,
          json_build_object('id', p.id, 'name', p.name, 'monthlyDesignQuota', p.monthly_design_quota) AS plan
        FROM subscriptions s JOIN plans p ON p.id = s.plan_id
        WHERE s.user_id = ${userId}`
  })
  return SubscriptionsRepository.of({
    findForUser: (userId) => findForUser(userId).pipe(orUnavailable),
    set: (userId, plan, status) =>
      Effect.gen(function*() {
        const at = new Date(yield* Clock.currentTimeMillis)
        const written = yield* sql`
          INSERT INTO subscriptions (user_id, plan_id, status, created_at, updated_at)
          SELECT id, ${plan}, ${status}, ${at}, ${at} FROM users WHERE id = ${userId}
          ON CONFLICT (user_id) DO UPDATE SET plan_id = EXCLUDED.plan_id, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
          RETURNING user_id`
        return written.length === 0 ? Option.none() : yield* findForUser(userId)
      }).pipe(orUnavailable)
  })
}))

/** The plan catalogue the migration seeds, for the in-memory layer. */
export const PLANS: ReadonlyArray<Plan> = [
  { id: "free", name: "Free", monthlyDesignQuota: 10 },
  { id: "starter", name: "Starter", monthlyDesignQuota: 100 },
  { id: "pro", name: "Pro", monthlyDesignQuota: 1_000 },
  { id: "enterprise", name: "Enterprise", monthlyDesignQuota: null }
]

/** In memory; every user is treated as existing (unit tests create subscriptions directly). */
export const layerMemory = Layer.effect(SubscriptionsRepository, Effect.gen(function*() {
  const rows = yield* Ref.make(new Map<UserId, Subscription>())
  return SubscriptionsRepository.of({
    findForUser: (userId) => Effect.map(Ref.get(rows), (all) => Option.fromNullishOr(all.get(userId))),
    set: (userId, planId, status) =>
      Effect.gen(function*() {
        const at = new Date(yield* Clock.currentTimeMillis)
        const all = yield* Ref.get(rows)
        const existing = all.get(userId)
        const subscription: Subscription = {
          userId,
          plan: PLANS.find((p) => p.id === planId)!,
          status,
          createdAt: existing?.createdAt ?? at,
          updatedAt: at
        }
        all.set(userId, subscription)
        return Option.some(subscription)
      })
  })
}))
