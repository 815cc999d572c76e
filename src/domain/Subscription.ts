import { Schema } from "effect"

export const PlanId = Schema.Literals(["free", "starter", "pro", "enterprise"])
export type PlanId = typeof PlanId.Type

export const SubscriptionStatus = Schema.Literals(["active", "past_due", "canceled", "incomplete"])
export type SubscriptionStatus = typeof SubscriptionStatus.Type
