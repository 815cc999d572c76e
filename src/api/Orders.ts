import { Schema, Struct } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { RenderJobId } from "../domain/Jobs.ts"
import { ExternalOrderId, Order, OrderId, OrderWrite } from "../domain/Order.ts"
import { PlanId, SubscriptionStatus } from "../domain/Subscription.ts"
import { UserId } from "../domain/User.ts"
import { Cursor, Limit, MAX_PAGE_SIZE, NextCursor } from "./Pagination.ts"
import { JobProgress, JobView } from "./Jobs.ts"
import { InvalidCursor, NotFound, ValidationFailed } from "./Problems.ts"
import { Authentication, ServiceAuthentication } from "./Security.ts"
import { SubscriptionView } from "./Subscriptions.ts"

/** An order as it is answered: without its user's id. */
export const OrderView = Order.mapFields(Struct.omit(["userId"])).annotate({ identifier: "Order" })

export class OrdersApi extends HttpApiGroup.make("orders")
  .add(
    HttpApiEndpoint.get("list", "/", {
      query: { limit: Schema.optional(Limit), cursor: Schema.optional(Cursor) },
      success: Schema.Struct({
        data: Schema.Array(OrderView).check(Schema.isMaxLength(MAX_PAGE_SIZE)),
        nextCursor: NextCursor
      }).annotate({ identifier: "OrderPage" }),
      error: [ValidationFailed, InvalidCursor]
    }).annotateMerge(OpenApi.annotations({
      summary: "List the caller's orders",
      description: "Newest first; keyset pagination with `cursor` (a cursor no page answered is 400 `invalid_cursor`). Orders are written by the integration layer and read-only here."
    })),
    HttpApiEndpoint.get("get", "/:id", { params: { id: OrderId }, success: OrderView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "Get an order",
      description: "Someone else's order answers 404, exactly like a missing one."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1/orders")
  .annotateMerge(OpenApi.annotations({ title: "Orders", description: "The signed-in user's orders (read-only)" }))
{}

export const OrderUpsert = OrderWrite.annotate({ identifier: "OrderUpsert" })

/** Written by the integration layer with a service key; users get 403. */
export class InternalApi extends HttpApiGroup.make("internal")
  .add(
    HttpApiEndpoint.put("upsertOrder", "/orders/:externalId", {
      params: { externalId: ExternalOrderId },
      payload: OrderUpsert,
      success: [OrderView, OrderView.pipe(HttpApiSchema.status(201))],
      error: ValidationFailed
    }).annotateMerge(OpenApi.annotations({
      summary: "Create or update an order (integration layer)",
      description: "Idempotent by the store's order id: 201 when created, 200 when updated. Service key (X-Service-Key) only."
    })),
    HttpApiEndpoint.put("setSubscription", "/subscriptions/:userId", {
      params: { userId: UserId },
      payload: Schema.Struct({ plan: PlanId, status: SubscriptionStatus }),
      success: SubscriptionView,
      error: NotFound
    }).annotateMerge(OpenApi.annotations({
      summary: "Set a user's plan and status (integration layer)",
      description: "Service key (X-Service-Key) only. The subscription cache is refreshed at once."
    })),
    HttpApiEndpoint.put("reportJob", "/jobs/:jobId", {
      params: { jobId: RenderJobId },
      payload: JobProgress,
      success: JobView,
      error: NotFound
    }).annotateMerge(OpenApi.annotations({
      summary: "Report a job's progress (render engine, PDF workers)",
      description: "Service key (X-Service-Key) only. `resultUrl` must be an https URL."
    }))
  )
  .middleware(ServiceAuthentication)
  .prefix("/api/v1/internal")
  .annotateMerge(OpenApi.annotations({ title: "Internal", description: "Service-to-service routes (X-Service-Key)" }))
{}
