import { Schema } from "effect"
import { Int32, Timestamp } from "./Primitives.ts"
import type { Period } from "./Quota.ts"
import { UserId } from "./User.ts"

export const PlanId = Schema.Literals(["free", "starter", "pro", "enterprise"])
export type PlanId = typeof PlanId.Type

export const SubscriptionStatus = Schema.Literals(["active", "past_due", "canceled", "incomplete"])
export type SubscriptionStatus = typeof SubscriptionStatus.Type

/** A number of designs per calendar month; `null` is unlimited. */
export const MonthlyLimit = Schema.NullOr(Int32.check(Schema.isGreaterThanOrEqualTo(0))).annotate({
  description: "null: unlimited"
})

export const Plan = Schema.Struct({
  id: PlanId,
  name: Schema.String,
  monthlyDesignQuota: MonthlyLimit
})
export type Plan = typeof Plan.Type

/** A user's plan and its status, one per user. */
export const Subscription = Schema.Struct({
  userId: UserId,
  plan: Plan,
  status: SubscriptionStatus,
  createdAt: Timestamp,
  updatedAt: Timestamp
})
export type Subscription = typeof Subscription.Type

/** A subscription as its holder sees it: plan, status, the current quota period and the plan's limits. */
export const SubscriptionSummary = Schema.Struct({
  plan: PlanId,
  status: SubscriptionStatus,
  currentPeriodStart: Timestamp,
  currentPeriodEnd: Timestamp,
  limits: Schema.Struct({ designsPerMonth: MonthlyLimit })
})
export type SubscriptionSummary = typeof SubscriptionSummary.Type

export const summarize = (subscription: Subscription, period: Period): SubscriptionSummary => ({
  plan: subscription.plan.id,
  status: subscription.status,
  currentPeriodStart: period.start,
  currentPeriodEnd: period.end,
  limits: { designsPerMonth: subscription.plan.monthlyDesignQuota }
})

/** Designs created in a quota period against the plan's limit. */
export const Usage = Schema.Struct({
  periodStart: Timestamp,
  periodEnd: Timestamp,
  designsCreated: Int32.check(Schema.isGreaterThanOrEqualTo(0)),
  designsLimit: MonthlyLimit,
  remaining: MonthlyLimit
})
export type Usage = typeof Usage.Type

/** Whether a design may be created now, how many are left this period and when it ends. */
export const QuotaStatus = Schema.Struct({
  allowed: Schema.Boolean,
  remaining: MonthlyLimit,
  resetsAt: Timestamp
})
export type QuotaStatus = typeof QuotaStatus.Type
