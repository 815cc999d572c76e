import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { QuotaStatus, SubscriptionSummary, Usage } from "../domain/Subscription.ts"
import { NotFound } from "./Problems.ts"
import { Authentication } from "./Security.ts"

export const SubscriptionView = SubscriptionSummary.annotate({ identifier: "Subscription" })

export const UsageView = Usage.annotate({ identifier: "Usage" })

export const QuotaView = QuotaStatus.annotate({ identifier: "Quota" })

export class SubscriptionsApi extends HttpApiGroup.make("subscriptions")
  .add(
    HttpApiEndpoint.get("get", "/", { success: SubscriptionView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "The caller's subscription",
      description: "Plan, status, the current quota period (the calendar month in UTC) and the plan's limits."
    })),
    HttpApiEndpoint.get("usage", "/usage", { success: UsageView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "The caller's design usage this month",
      description: "Designs created this month against the plan's limit."
    })),
    HttpApiEndpoint.get("quota", "/quota", { success: QuotaView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "Whether the caller can create a design now",
      description: "`allowed` is false when the month's quota is spent or the subscription is not active."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1/subscriptions/me")
  .annotateMerge(OpenApi.annotations({ title: "Subscriptions", description: "Plan, status and monthly usage" }))
{}
