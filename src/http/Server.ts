import { createServer } from "node:http"
// Deep import: the package barrel loads every Node platform module at start-up.
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { HealthHandlers } from "../features/health/Http.ts"
import * as Docs from "./Docs.ts"
import * as RequestPipeline from "./RequestPipeline.ts"
import * as RequestValidationLive from "./RequestValidationLive.ts"
import * as RouteTable from "./RouteTable.ts"

export const routeTable = RouteTable.make(CoreApi, Docs.docsRoutes)

const ApiRoutes = HttpApiBuilder.layer(CoreApi, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(HealthHandlers),
  Layer.provideMerge(RequestValidationLive.layer)
)

/** Every route and the global request pipeline; needs the capabilities, not a listening socket. */
export const AppRoutes = Layer.mergeAll(ApiRoutes, Docs.layer, RequestPipeline.layer(routeTable))

/** The Node HTTP server on HOST:PORT, draining in-flight requests for SHUTDOWN_TIMEOUT on stop. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const config = yield* AppConfig
  return HttpRouter.serve(AppRoutes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, {
      host: config.host,
      port: config.port,
      gracefulShutdownTimeout: config.shutdownTimeout
    }))
  )
}))
