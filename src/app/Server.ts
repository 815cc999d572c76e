import { createServer } from "node:http"
// Deep import: the package barrel loads every Node platform module at start-up.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, identity, Layer, Option } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"
import { AppConfig } from "../config/AppConfig.ts"
import * as ClientIp from "../http/ClientIp.ts"
import * as Docs from "../http/Docs.ts"
import * as RequestPipeline from "../http/RequestPipeline.ts"
import * as RequestValidationLive from "../http/RequestValidationLive.ts"
import * as RouteTable from "../http/RouteTable.ts"
import { ServerApi } from "../http/ServerApi.ts"
import * as Metrics from "../http/Metrics.ts"
import * as Features from "./Features.ts"

/** Routes served beside the HttpApi: documentation, metrics, local uploads. */
export const routesBesideTheApi = [...Docs.docsRoutes, ...Metrics.routes, ...Features.routeList]

export const routeTable = RouteTable.make(CoreApi, routesBesideTheApi)

const ApiRoutes = HttpApiBuilder.layer(ServerApi, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(Features.handlers),
  Layer.provideMerge(Layer.merge(RequestValidationLive.layer, Features.middleware))
)

/**
 * Every route and the global request pipeline, from the features and the HTTP kit. Needs the
 * capabilities (and configuration): provide them around this layer, not a listening socket.
 */
export const AppRoutes = Layer.mergeAll(
  ApiRoutes,
  Docs.layer,
  Metrics.route,
  Features.routes,
  RequestPipeline.layer(routeTable)
).pipe(Layer.provide(ClientIp.layer))

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
    Layer.provideMerge(NodeHttpServer.layer(createServer, {
      host: config.host,
      port: config.port,
      gracefulShutdownTimeout: config.shutdownTimeout
    }))
  )
}))
