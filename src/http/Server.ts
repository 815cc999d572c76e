import { createServer } from "node:http"
// Deep import: the package barrel loads every Node platform module at start-up.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, identity, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"
import { AppConfig } from "../config/AppConfig.ts"
import * as Transactions from "../capabilities/database/Transactions.ts"
import * as Storage from "../capabilities/storage/Storage.ts"
import { makeAiHandlers } from "../features/ai/Http.ts"
import * as Assets from "../features/assets/Assets.ts"
import * as AssetsRepository from "../features/assets/AssetsRepository.ts"
import { AssetsHandlers } from "../features/assets/Http.ts"
import * as AccessTokens from "../features/auth/AccessTokens.ts"
import * as AuthenticationLive from "../features/auth/AuthenticationLive.ts"
import { AuthHandlers } from "../features/auth/Http.ts"
import * as LoginThrottle from "../features/auth/LoginThrottle.ts"
import * as Passwords from "../features/accounts/Passwords.ts"
import * as ServiceAuthenticationLive from "../features/auth/ServiceAuthenticationLive.ts"
import * as Sessions from "../features/accounts/Sessions.ts"
import * as DesignsLookup from "../features/designs/Designs.ts"
import * as DesignsRepository from "../features/designs/DesignsRepository.ts"
import { DesignsHandlers } from "../features/designs/Http.ts"
import { HealthHandlers } from "../features/health/Http.ts"
import { JobsHandlers } from "../features/jobs/Http.ts"
import * as RenderJobsRepository from "../features/jobs/RenderJobsRepository.ts"
import { InternalHandlers, OrdersHandlers } from "../features/orders/Http.ts"
import * as OrdersRepository from "../features/orders/OrdersRepository.ts"
import { SubscriptionsHandlers } from "../features/subscriptions/Http.ts"
import * as SubscriptionsLookup from "../features/subscriptions/Subscriptions.ts"
import * as SubscriptionsRepository from "../features/subscriptions/SubscriptionsRepository.ts"
import * as AccountsRepository from "../features/accounts/AccountsRepository.ts"
import { AdminHandlers, MeHandlers } from "../features/users/Http.ts"
import * as ClientIp from "./ClientIp.ts"
import * as Metrics from "../observability/Metrics.ts"
import * as Docs from "./Docs.ts"
import * as RequestPipeline from "./RequestPipeline.ts"
import { ServerApi } from "./ServerApi.ts"
import * as RequestValidationLive from "./RequestValidationLive.ts"
import * as RouteTable from "./RouteTable.ts"

export const routeTable = RouteTable.make(CoreApi, [...Docs.docsRoutes, ...Storage.localUploadRoutes])

/** The services the features' use cases run on, over the capabilities. */
export const FeatureServices = Layer.mergeAll(
  AccountsRepository.layerSql,
  Passwords.layer,
  AccessTokens.layer,
  LoginThrottle.layer,
  ClientIp.layer,
  Sessions.layer,
  OrdersRepository.layerSql,
  RenderJobsRepository.layerSql,
  DesignsLookup.layerLookup,
  SubscriptionsLookup.layerLookup,
  DesignsLookup.layerDesignUsage,
  Assets.layerImageReferences
).pipe(Layer.provideMerge(Layer.mergeAll(DesignsRepository.layerSql, SubscriptionsRepository.layerSql, Transactions.layerSql, AssetsRepository.layerSql)))

const ApiRoutes = HttpApiBuilder.layer(ServerApi, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide([
    HealthHandlers,
    AuthHandlers,
    MeHandlers,
    AdminHandlers,
    DesignsHandlers,
    SubscriptionsHandlers,
    OrdersHandlers,
    InternalHandlers,
    JobsHandlers,
    AssetsHandlers,
    makeAiHandlers(ServerApi)
  ]),
  Layer.provideMerge(Layer.mergeAll(RequestValidationLive.layer, AuthenticationLive.layer, ServiceAuthenticationLive.layer))
)

/**
 * Every route and the global request pipeline. Handlers ask for `FeatureServices` per request:
 * provide them (and the capabilities) around this layer, not a listening socket.
 */
export const AppRoutes = Layer.mergeAll(
  ApiRoutes,
  Docs.layer,
  Metrics.route,
  Storage.LocalUploadRoutes,
  RequestPipeline.layer(routeTable)
)

/** The Node HTTP server on HOST:PORT, draining in-flight requests for SHUTDOWN_TIMEOUT on stop. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const config = yield* AppConfig
  return HttpRouter.serve(AppRoutes, {
    disableLogger: true,
    disableListenLog: true,
    // Any server middleware switches on Effect's HTTP server span (honouring an incoming
    // traceparent); without a tracer installed it records nothing.
    ...(Option.isSome(config.otlpEndpoint) ? { middleware: identity } : {})
  }).pipe(
    Layer.provide(FeatureServices),
    Layer.provideMerge(NodeHttpServer.layer(createServer, {
      host: config.host,
      port: config.port,
      gracefulShutdownTimeout: config.shutdownTimeout
    }))
  )
}))
