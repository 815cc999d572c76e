import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { DesignId } from "../domain/Design.ts"
import { RenderJobId } from "../domain/Jobs.ts"
import { ExternalOrderId, OrderId, OrderStatus } from "../domain/Order.ts"
import { PlanId, SubscriptionStatus } from "../domain/Subscription.ts"
import { UserId } from "../domain/User.ts"
import { Cursor, Limit } from "./Designs.ts"
import { JobProgress, JobView } from "./Jobs.ts"
import { NotFound, ValidationFailed } from "./Problems.ts"
import { Authentication, ServiceAuthentication } from "./Security.ts"
import { SubscriptionView } from "./Subscriptions.ts"

export const OrderView = Schema.Struct({
  id: OrderId,
  externalId: Schema.String,
  designId: Schema.NullOr(DesignId),
  status: OrderStatus,
  quantity: Schema.Int,
  totalCents: Schema.Int,
  currency: Schema.String,
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotate({ identifier: "Order" })

export class OrdersApi extends HttpApiGroup.make("orders")
  .add(
    HttpApiEndpoint.get("list", "/", {
      query: { limit: Schema.optional(Limit), cursor: Schema.optional(Cursor) },
      success: Schema.Struct({ data: Schema.Array(OrderView), nextCursor: Schema.NullOr(Schema.String) }).annotate({ identifier: "OrderPage" }),
      error: ValidationFailed
    }),
    HttpApiEndpoint.get("get", "/:id", { params: { id: OrderId }, success: OrderView, error: NotFound })
  )
  .middleware(Authentication)
  .prefix("/api/v1/orders")
  .annotateMerge(OpenApi.annotations({ title: "Orders", description: "The signed-in user's orders (read-only)" }))
{}

export const OrderUpsert = Schema.Struct({
  userId: UserId,
  designId: Schema.NullOr(DesignId),
  status: OrderStatus,
  quantity: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10_000 })),
  totalCents: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 100_000_000 })),
  currency: Schema.String.check(Schema.isPattern(/^[A-Z]{3}$/, { message: "Expected an ISO 4217 code like EUR" }))
}).annotate({ identifier: "OrderUpsert" })

/** Written by the integration layer with a service key; users get 403. */
export class InternalApi extends HttpApiGroup.make("internal")
  .add(
    HttpApiEndpoint.put("upsertOrder", "/orders/:externalId", {
      params: { externalId: ExternalOrderId },
      payload: OrderUpsert,
      success: [OrderView, OrderView.pipe(HttpApiSchema.status(201))],
      error: ValidationFailed
    }),
    HttpApiEndpoint.put("setSubscription", "/subscriptions/:userId", {
      params: { userId: UserId },
      payload: Schema.Struct({ plan: PlanId, status: SubscriptionStatus }),
      success: SubscriptionView,
      error: NotFound
    }),
    HttpApiEndpoint.put("reportJob", "/jobs/:jobId", {
      params: { jobId: RenderJobId },
      payload: JobProgress,
      success: JobView,
      error: NotFound
    })
  )
  .middleware(ServiceAuthentication)
  .prefix("/api/v1/internal")
  .annotateMerge(OpenApi.annotations({ title: "Internal", description: "Service-to-service routes (X-Service-Key)" }))
{}
