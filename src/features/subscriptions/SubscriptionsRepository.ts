import { Clock, Context, Effect, Layer, Option, Ref } from "effect"
import { SqlClient } from "effect/sql"
import type { PlanId, SubscriptionStatus } from "../../domain/Subscription.ts"
import type { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

export interface Plan {
  readonly id: PlanId
  readonly name: string
  /** Designs per calendar month; `null` is unlimited. */
  readonly monthlyDesignQuota: number | null
}

export interface Subscription {
  readonly userId: UserId
  readonly plan: Plan
  readonly status: SubscriptionStatus
  readonly createdAt: Date
  readonly updatedAt: Date
}

export class SubscriptionsRepository extends Context.Service<SubscriptionsRepository, {
  readonly findForUser: (userId: UserId) => Effect.Effect<Option.Option<Subscription>, DatabaseUnavailable>
  /** Sets plan and status (creating the row if the user has none); None when the user does not exist. */
  readonly set: (userId: UserId, plan: PlanId, status: SubscriptionStatus) => Effect.Effect<Option.Option<Subscription>, DatabaseUnavailable>
}>()("customify/features/subscriptions/SubscriptionsRepository") {}

interface Row {
  readonly userId: UserId
  readonly planId: PlanId
  readonly planName: string
  readonly monthlyDesignQuota: number | null
  readonly status: SubscriptionStatus
  readonly createdAt: Date
  readonly updatedAt: Date
}

const toSubscription = (row: Row): Subscription => ({
  userId: row.userId,
  plan: { id: row.planId, name: row.planName, monthlyDesignQuota: row.monthlyDesignQuota },
  status: row.status,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt
})

export const layerSql = Layer.effect(SubscriptionsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const findForUser = (userId: UserId) =>
    sql<Row>`
      SELECT s.user_id, s.plan_id, p.name AS plan_name, p.monthly_design_quota, s.status, s.created_at, s.updated_at
      FROM subscriptions s JOIN plans p ON p.id = s.plan_id
      WHERE s.user_id = ${userId}`.pipe(
      Effect.map((rows) => Option.map(Option.fromNullishOr(rows[0]), toSubscription)),
      orUnavailable
    )
  return SubscriptionsRepository.of({
    findForUser,
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
