import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { HttpApiSwagger } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"
import { forDocumentationPage } from "./SecurityHeaders.ts"

const REDOC_SCRIPT_PATH = "/redoc/redoc.standalone.js"

/** Every route served beside the HttpApi endpoints (for 405 detection and the route inventory). */
export const docsRoutes = [
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  { method: "GET", path: "/redoc" },
  { method: "GET", path: REDOC_SCRIPT_PATH }
] as const

const redocPage = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Customify Core API reference</title>
  <style>body { margin: 0; padding: 0; }</style>
</head>
<body>
  <redoc spec-url="/openapi.json"></redoc>
  <script src="${REDOC_SCRIPT_PATH}"></script>
</body>
</html>`

/** The ReDoc bundle ships in the `redoc` package; it is read once, on first request, and served from here. */
const loadRedocScript = Effect.promise(() =>
  readFile(createRequire(import.meta.url).resolve("redoc/bundles/redoc.standalone.js"))
).pipe(Effect.cached)

const ReDoc = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const script = yield* loadRedocScript
  yield* router.add("GET", "/redoc", HttpServerResponse.html(redocPage))
  yield* router.add(
    "GET",
    REDOC_SCRIPT_PATH,
    Effect.map(script, (bytes) =>
      HttpServerResponse.uint8Array(bytes, {
        contentType: "text/javascript; charset=utf-8",
        headers: { "cache-control": "public, max-age=86400" }
      }))
  )
}))

/**
 * The CSP of a documentation page, computed once per page: both pages are rendered once (Swagger
 * UI's response is memoised, ReDoc's is a constant), so their bodies are the keys, whatever
 * spelling of the path reached them.
 */
const policies = new WeakMap<Uint8Array, string>()
export const contentSecurityPolicyOf = (page: Uint8Array): string => {
  let policy = policies.get(page)
  if (policy === undefined) {
    policy = forDocumentationPage(new TextDecoder().decode(page))
    policies.set(page, policy)
  }
  return policy
}

/** Swagger UI at /docs and ReDoc at /redoc, with every asset served by this server (no CDN). */
export const layer = Layer.mergeAll(HttpApiSwagger.layer(CoreApi, { path: "/docs" }), ReDoc)
