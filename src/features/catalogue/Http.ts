import { Duration, Effect } from "effect"
import { HttpEffect, HttpServerResponse } from "effect/http"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { NotModified } from "../../api/ConditionalRequests.ts"
import { answer } from "../../http/DomainProblems.ts"
import { noneMatchNames } from "../../http/EntityTags.ts"
import { ServerApi } from "../../http/ServerApi.ts"
import { Catalogue, MAX_AGE, type Tagged } from "./Catalogue.ts"

const CACHE_CONTROL = `public, max-age=${Duration.toSeconds(MAX_AGE)}`

/**
 * The list with its tag, or 304 (`NotModified`, as for designs) when If-None-Match names the
 * current tag; the 304 repeats ETag and Cache-Control.
 */
const conditionally = <A>(ifNoneMatch: string | undefined) => (catalogue: Tagged<A>) => {
  const headers = { etag: catalogue.etag, "cache-control": CACHE_CONTROL }
  if (!noneMatchNames(ifNoneMatch, catalogue.etag)) {
    return Effect.succeed(HttpApiSchema.withHeaders({ body: { data: catalogue.items }, headers }))
  }
  return Effect.andThen(
    HttpEffect.appendPreResponseHandler((_request, response) => Effect.succeed(HttpServerResponse.setHeaders(response, headers))),
    Effect.fail(new NotModified())
  )
}

export const CatalogueHandlers = HttpApiBuilder.group(ServerApi, "catalogue", (handlers) =>
  Effect.gen(function*() {
    const catalogue = yield* Catalogue
    return handlers
      .handle("products", ({ request }) => Effect.flatMap(answer(catalogue.products), conditionally(request.headers["if-none-match"])))
      .handle("plans", ({ request }) => Effect.flatMap(answer(catalogue.plans), conditionally(request.headers["if-none-match"])))
  }))
