import { Effect, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { OrderView } from "../../api/Orders.ts"
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
        answer(Orders.upsertOrder(params.externalId, payload)).pipe(
          Effect.flatMap(({ created, order }): Effect.Effect<Order | HttpServerResponse.HttpServerResponse> =>
            created ? createdResponse(order) : Effect.succeed(order)
          )
        ))
      .handle("reportJob", ({ params, payload }) => answer(RenderJobs.reportProgress(params.jobId, payload)))
      .handle("setSubscription", ({ params, payload }) =>
        answer(Subscriptions.setSubscription(params.userId, payload.plan, payload.status)))
  ))

const encodeOrder = Schema.encodeEffect(Schema.toCodecJson(OrderView))

/**
 * The endpoint declares 200 and 201 with the same body: the encoder would pick the first for
 * both, so the 201 of a creation is rendered here.
 */
const createdResponse = (order: Order): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
  Effect.map(Effect.orDie(encodeOrder(order)), (body) => HttpServerResponse.jsonUnsafe(body, { status: 201 }))

type Order = typeof OrderView.Type
