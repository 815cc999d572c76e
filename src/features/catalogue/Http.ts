import { Duration, Effect } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { answer } from "../../http/DomainProblems.ts"
import { ServerApi } from "../../http/ServerApi.ts"
import { Catalogue, matchesIfNoneMatch, MAX_AGE, type Tagged } from "./Catalogue.ts"

const CACHE_CONTROL = `public, max-age=${Duration.toSeconds(MAX_AGE)}`

/** The list with its tag, or 304 with no body when the client's copy is current. */
const conditionally = <A>(ifNoneMatch: string | undefined) => (catalogue: Tagged<A>) => {
  const headers = { etag: catalogue.etag, "cache-control": CACHE_CONTROL }
  return matchesIfNoneMatch(ifNoneMatch, catalogue.etag)
    ? HttpApiSchema.withHeaders({ body: undefined, headers })
    : HttpApiSchema.withHeaders({ body: { data: catalogue.items }, headers })
}

export const CatalogueHandlers = HttpApiBuilder.group(ServerApi, "catalogue", (handlers) =>
  Effect.gen(function*() {
    const catalogue = yield* Catalogue
    return handlers
      .handle("products", ({ headers }) => answer(Effect.map(catalogue.products, conditionally(headers["if-none-match"]))))
      .handle("plans", ({ headers }) => answer(Effect.map(catalogue.plans, conditionally(headers["if-none-match"]))))
  }))
