import { FindMyWay } from "effect/http"
import { HttpApi, type HttpApiGroup } from "effect/http-api"

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const

export interface RouteTable {
  /** The methods served at `url`, for a 405 `Allow` header; empty when the path is unknown. */
  readonly allowedMethods: (url: string) => ReadonlyArray<string>
  /** The route template `method url` matches, e.g. `/api/v1/designs/:id`; undefined when none does. */
  readonly templateOf: (method: string, url: string) => string | undefined
  readonly routes: ReadonlyArray<{ readonly method: string; readonly path: string }>
}

/**
 * The served routes, derived from the HttpApi definition plus the routes added beside it
 * (documentation). Matching uses the router's own path matcher, so it agrees with routing.
 */
export const make = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<Id, Groups>,
  extra: ReadonlyArray<{ readonly method: string; readonly path: `/${string}` }>
): RouteTable => {
  const router = FindMyWay.make<string>()
  const routes: Array<{ method: string; path: `/${string}` }> = [...extra]
  HttpApi.reflect(api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push({ method: endpoint.method, path: endpoint.path as `/${string}` })
  })
  for (const route of routes) {
    router.on(route.method, route.path, route.path)
    if (route.method === "GET") router.on("HEAD", route.path, route.path)
  }
  return {
    routes,
    allowedMethods: (url) => METHODS.filter((method) => router.find(method, url) !== undefined),
    templateOf: (method, url) => router.find(method, url)?.handler
  }
}
