import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { PlanId, SubscriptionStatus } from "../domain/Subscription.ts"
import { NotFound } from "./Problems.ts"
import { Authentication } from "./Security.ts"

const MonthlyLimit = Schema.NullOr(Schema.Int).annotate({ description: "null: unlimited" })

export const SubscriptionView = Schema.Struct({
  plan: PlanId,
  status: SubscriptionStatus,
  currentPeriodStart: Schema.String,
  currentPeriodEnd: Schema.String,
  limits: Schema.Struct({ designsPerMonth: MonthlyLimit })
}).annotate({ identifier: "Subscription" })

export const UsageView = Schema.Struct({
  periodStart: Schema.String,
  periodEnd: Schema.String,
  designsCreated: Schema.Int,
  designsLimit: MonthlyLimit,
  remaining: MonthlyLimit
}).annotate({ identifier: "Usage" })

export const QuotaView = Schema.Struct({
  allowed: Schema.Boolean,
  remaining: MonthlyLimit,
  resetsAt: Schema.String
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
