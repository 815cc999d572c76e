import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { Int32, Timestamp } from "../domain/Primitives.ts"
import { PlanId, SubscriptionStatus } from "../domain/Subscription.ts"
import { NotFound } from "./Problems.ts"
import { Authentication } from "./Security.ts"

const MonthlyLimit = Schema.NullOr(Int32.check(Schema.isGreaterThanOrEqualTo(0))).annotate({ description: "null: unlimited" })

export const SubscriptionView = Schema.Struct({
  plan: PlanId,
  status: SubscriptionStatus,
  currentPeriodStart: Timestamp,
  currentPeriodEnd: Timestamp,
  limits: Schema.Struct({ designsPerMonth: MonthlyLimit })
}).annotate({ identifier: "Subscription" })

export const UsageView = Schema.Struct({
  periodStart: Timestamp,
  periodEnd: Timestamp,
  designsCreated: Int32.check(Schema.isGreaterThanOrEqualTo(0)),
  designsLimit: MonthlyLimit,
  remaining: MonthlyLimit
}).annotate({ identifier: "Usage" })

export const QuotaView = Schema.Struct({
  allowed: Schema.Boolean,
  remaining: MonthlyLimit,
  resetsAt: Timestamp
}).annotate({ identifier: "Quota" })

export class SubscriptionsApi extends HttpApiGroup.make("subscriptions")
  .add(
    HttpApiEndpoint.get("get", "/", { success: SubscriptionView, error: NotFound }),
    HttpApiEndpoint.get("usage", "/usage", { success: UsageView, error: NotFound }),
    HttpApiEndpoint.get("quota", "/quota", { success: QuotaView, error: NotFound })
  )
  .middleware(Authentication)
  .prefix("/api/v1/subscriptions/me")
  .annotateMerge(OpenApi.annotations({ title: "Subscriptions", description: "Plan, status and monthly usage" }))
{}
