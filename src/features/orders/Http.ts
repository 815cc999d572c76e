import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { answer, answerAs } from "../../http/DomainProblems.ts"
import * as RenderJobs from "../jobs/RenderJobs.ts"
import * as Subscriptions from "../subscriptions/Subscriptions.ts"
import * as Orders from "./Orders.ts"

export const OrdersHandlers = HttpApiBuilder.group(ServerApi, "orders", (handlers) =>
  Effect.succeed(
    handlers
      .handle("list", ({ query }) => answerAs((actor) => Orders.listOrders(actor, query)))
      .handle("get", ({ params }) => answerAs((actor) => Orders.getOrder(actor, params.id)))
  ))

export const InternalHandlers = HttpApiBuilder.group(ServerApi, "internal", (handlers) =>
  Effect.succeed(
    handlers
      .handle("upsertOrder", ({ params, payload }) =>
        answer(Orders.upsertOrder(params.externalId, payload)).pipe(Effect.map(({ order }) => order)))
      .handle("reportJob", ({ params, payload }) => answer(RenderJobs.reportProgress(params.jobId, payload)))
      .handle("setSubscription", ({ params, payload }) =>
        answer(Subscriptions.setSubscription(params.userId, payload.plan, payload.status)))
  ))
