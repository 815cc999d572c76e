import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import type { SubscriptionView } from "../../api/Subscriptions.ts"
import type { Period } from "../../domain/Quota.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Subscriptions from "./Subscriptions.ts"
import type { Subscription } from "./SubscriptionsRepository.ts"

export const toSubscriptionView = (subscription: Subscription, period: Period): typeof SubscriptionView.Type => ({
  plan: subscription.plan.id,
  status: subscription.status,
  currentPeriodStart: period.start,
  currentPeriodEnd: period.end,
  limits: { designsPerMonth: subscription.plan.monthlyDesignQuota }
})

export const SubscriptionsHandlers = HttpApiBuilder.group(ServerApi, "subscriptions", (handlers) =>
  Effect.succeed(
    handlers
      .handle("get", () =>
        answerAs((actor) => Subscriptions.getSubscription(actor)).pipe(
            Effect.map(({ period, subscription }) => toSubscriptionView(subscription, period))
          ))
      .handle("usage", () =>
        answerAs((actor) => Subscriptions.getUsage(actor)).pipe(Effect.map((usage) => ({
            periodStart: usage.period.start,
            periodEnd: usage.period.end,
            designsCreated: usage.designsCreated,
            designsLimit: usage.designsLimit,
            remaining: usage.remaining
          }))))
      .handle("quota", () =>
        answerAs((actor) => Subscriptions.getQuota(actor)).pipe(Effect.map((quota) => ({
            allowed: quota.allowed,
            remaining: quota.remaining,
            resetsAt: quota.resetsAt
          }))))
  ))
