import { HttpApi, type HttpApiGroup, OpenApi } from "effect/http-api"
import { AiApi } from "./Ai.ts"
import { AssetsApi } from "./Assets.ts"
import { AuthApi } from "./Auth.ts"
import { CatalogueApi } from "./Catalogue.ts"
import { DesignsApi } from "./Designs.ts"
import { documentGateway, RateLimited } from "./Gateway.ts"
import { HealthApi } from "./Health.ts"
import { documentIdempotency } from "./Idempotency.ts"
import { JobsApi } from "./Jobs.ts"
import { InternalApi, OrdersApi } from "./Orders.ts"
import { RequestValidation } from "./RequestValidation.ts"
import { SubscriptionsApi } from "./Subscriptions.ts"
import { AdminApi, MeApi } from "./Users.ts"

/**
 * The conventions every endpoint follows: validation failures as one `validation_failed`
 * problem listing every invalid field, unknown body properties refused (never silently
 * dropped), unknown query parameters ignored. Applied after the groups are added: an API
 * middleware covers only the endpoints already added.
 */
export const withConventions = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<Id, Groups>
) =>
  api
    .middleware(RequestValidation)
    .annotate(HttpApi.ParseOptions, { errors: "all" })
    .annotate(HttpApi.PayloadParseOptions, { errors: "all", onExcessProperty: "error" })
    // Real requests carry transport headers that no endpoint declares.
    .annotate(HttpApi.HeadersParseOptions, { errors: "all" })

/**
 * The one definition of the Core API: routing, validation, the OpenAPI document and the
 * typed clients (`HttpApiClient.make(CoreApi)`) of the widget, the dashboard and the workers
 * all derive from it. Everything under `src/api/` and `src/domain/` is importable by clients:
 * it must never import server code (a test walks the imports to keep it so). The document also
 * states what the request pipeline adds around the endpoints (`Gateway.ts`).
 */
export class CoreApi extends withConventions(
  HttpApi.make("customify-core-api")
    .add(HealthApi)
    .add(AuthApi)
    .add(MeApi)
    .add(AdminApi)
    .add(DesignsApi)
    .add(AssetsApi)
    .add(SubscriptionsApi)
    .add(OrdersApi)
    .add(JobsApi)
    .add(InternalApi)
    .add(AiApi)
    .add(CatalogueApi)
).annotateMerge(OpenApi.annotations({
  title: "Customify Core API",
  version: "1.0.0",
  description: "Auth, designs, subscriptions, orders and orchestration for the Customify widget and dashboard.",
  transform: (spec) => documentIdempotency(documentGateway(spec))
})).annotate(HttpApi.AdditionalSchemas, [RateLimited]) {}
