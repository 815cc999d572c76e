import { Schema, Struct } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Product } from "../domain/Design.ts"
import { matching, text } from "../domain/Primitives.ts"
import { Plan } from "../domain/Subscription.ts"
import { declareIfNoneMatch, NotModifiedResponse } from "./ConditionalRequests.ts"
import { ServiceUnavailable } from "./Problems.ts"

/** The catalogue's names as the table holds them; bounded here so the document can say so. */
const CatalogueName = text(100)

export const ProductView = Product.mapFields(Struct.assign({ name: CatalogueName })).annotate({ identifier: "Product" })
export const PlanView = Plan.mapFields(Struct.assign({ name: CatalogueName })).annotate({ identifier: "Plan" })

/** At most this many products or plans in one answer: both catalogues are short, curated lists. */
export const MAX_CATALOGUE_ITEMS = 1000

export const ProductList = Schema.Struct({
  data: Schema.Array(ProductView).check(Schema.isMaxLength(MAX_CATALOGUE_ITEMS))
}).annotate({ identifier: "ProductList" })

export const PlanList = Schema.Struct({
  data: Schema.Array(PlanView).check(Schema.isMaxLength(MAX_CATALOGUE_ITEMS))
}).annotate({ identifier: "PlanList" })

/** A strong entity tag (RFC 9110 §8.8.3): the base64url SHA-256 of the body, quoted. */
const ENTITY_TAG = /^"[A-Za-z0-9_-]{1,64}"$/u
export const EntityTag = matching(ENTITY_TAG, 66, { expected: "a strong entity tag" })

const CACHE_CONTROL = /^public, max-age=[0-9]{1,9}$/u

/** What a cacheable answer carries: its tag and how long any cache may keep it. */
const cacheHeaders = {
  etag: EntityTag.annotate({ description: "Changes whenever the body does; send it back as If-None-Match" }),
  "cache-control": matching(CACHE_CONTROL, 30).annotate({ description: "public, max-age=<seconds>" })
}

/**
 * The document names both headers as every other answer of the API does (`ETag`, not `etag`),
 * on the 200 and on the 304, which repeats them (RFC 9110 §15.4.5).
 */
const declareCacheHeaders = (operation: Record<string, any>): Record<string, any> => {
  const declared = {
    ETag: {
      description: "Strong tag of the content; send it back as If-None-Match",
      required: true,
      schema: { type: "string", pattern: ENTITY_TAG.source, maxLength: 66 }
    },
    "Cache-Control": { required: true, schema: { type: "string", pattern: CACHE_CONTROL.source, maxLength: 30 } }
  }
  const responses = { ...operation["responses"] }
  for (const status of ["200", "304"]) {
    const response = responses[status]
    if (response === undefined) continue
    const { "cache-control": _cacheControl, etag: _etag, ...others } = response.headers ?? {}
    responses[status] = { ...response, headers: { ...declared, ...others } }
  }
  return { ...operation, responses }
}

const CACHING = "Public (no token) and cacheable: `Cache-Control: public, max-age=300` and a strong `ETag` derived from the content; " +
  "`If-None-Match` naming the current tag answers 304 with no body (the Effect client fails it as `NotModified`, like a design's). " +
  "A change of the catalogue is served within a minute and reaches every cache within max-age after that."

const catalogueEndpoint = <const Name extends string, const Path extends `/${string}`, S extends Schema.Top>(
  name: Name,
  path: Path,
  body: S,
  summary: string,
  description: string
) =>
  HttpApiEndpoint.get(name, path, {
    success: HttpApiSchema.WithHeaders(body, cacheHeaders),
    error: [ServiceUnavailable, NotModifiedResponse]
  }).annotateMerge(OpenApi.annotations({
    summary,
    description: `${description} ${CACHING}`,
    transform: (operation) => declareIfNoneMatch(declareCacheHeaders(operation))
  }))

export class CatalogueApi extends HttpApiGroup.make("catalogue")
  .add(
    catalogueEndpoint("products", "/products", ProductList, "List the products",
      "Every product a design can be made for, with the printable area (mm) its canvas must fit, ordered by id."),
    catalogueEndpoint("plans", "/plans", PlanList, "List the plans",
      "Every subscription plan with its monthly design quota (null: unlimited), cheapest first.")
  )
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({
    title: "Catalogue",
    description: "The products designs are made for and the subscription plans: public, cacheable"
  }))
{}
