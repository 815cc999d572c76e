import { Clock, Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import type { OrderView } from "../../api/Orders.ts"
import type { Order } from "../../domain/Order.ts"
import { periodContaining } from "../../domain/Quota.ts"
import { answer, answerAs } from "../../http/DomainProblems.ts"
import * as RenderJobs from "../jobs/RenderJobs.ts"
import { toSubscriptionView } from "../subscriptions/Http.ts"
import * as Subscriptions from "../subscriptions/Subscriptions.ts"
import * as Orders from "./Orders.ts"

export const toOrderView = (order: Order): typeof OrderView.Type => ({
  id: order.id,
  externalId: order.externalId,
  designId: order.designId,
  status: order.status,
  quantity: order.quantity,
  totalCents: order.totalCents,
  currency: order.currency,
  createdAt: order.createdAt,
  updatedAt: order.updatedAt
})

export const OrdersHandlers = HttpApiBuilder.group(ServerApi, "orders", (handlers) =>
  Effect.succeed(
    handlers
      .handle("list", ({ query }) =>
        answerAs((actor) => Orders.listOrders(actor, query)).pipe(
            Effect.map((page) => ({ data: page.data.map(toOrderView), nextCursor: page.nextCursor }))
          ))
      .handle("get", ({ params }) =>
        answerAs((actor) => Orders.getOrder(actor, params.id)).pipe(Effect.map(toOrderView)))
  ))

export const InternalHandlers = HttpApiBuilder.group(ServerApi, "internal", (handlers) =>
  Effect.succeed(
    handlers
      .handle("upsertOrder", ({ params, payload }) =>
        answer(Orders.upsertOrder(params.externalId, payload)).pipe(Effect.map(({ order }) => toOrderView(order))))
      .handle("reportJob", ({ params, payload }) => answer(RenderJobs.reportProgress(params.jobId, payload)))
      .handle("setSubscription", ({ params, payload }) =>
        Effect.gen(function*() {
          const subscription = yield* answer(Subscriptions.setSubscription(params.userId, payload.plan, payload.status))
          return toSubscriptionView(subscription, periodContaining(new Date(yield* Clock.currentTimeMillis)))
        }))
  ))
