import { HttpApi, OpenApi } from "effect/http-api"
import { HealthApi } from "./Health.ts"
import { RequestValidation } from "./RequestValidation.ts"

/**
 * The one definition of the Core API: routing, validation, the OpenAPI document and the
 * typed clients (`HttpApiClient.make(CoreApi)`) of the widget, the dashboard and the workers
 * all derive from it. Everything under `src/api/` and `src/domain/` is importable by clients:
 * it must never import server code (a test walks the imports to keep it so).
 */
export class CoreApi extends HttpApi.make("customify-core-api")
  .add(HealthApi)
  // Declared after the groups: an API middleware covers the endpoints already added.
  .middleware(RequestValidation)
  // Every invalid field is reported, not only the first; unknown body properties are refused
  // (never silently dropped), unknown query parameters are ignored.
  .annotate(HttpApi.ParseOptions, { errors: "all" })
  .annotate(HttpApi.PayloadParseOptions, { errors: "all", onExcessProperty: "error" })
  // Real requests carry transport headers that no endpoint declares.
  .annotate(HttpApi.HeadersParseOptions, { errors: "all" })
  .annotateMerge(OpenApi.annotations({
    title: "Customify Core API",
    version: "1.0.0",
    description: "Auth, designs, subscriptions, orders and orchestration for the Customify widget and dashboard."
  }))
{}
