import { Schema, Struct } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Product } from "../domain/Design.ts"
import { matching, text } from "../domain/Primitives.ts"
import { Plan } from "../domain/Subscription.ts"
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
export const EntityTag = matching(/^"[A-Za-z0-9_-]{1,64}"$/u, 66, { expected: "a strong entity tag" })

/** What a cacheable answer carries: its tag and how long any cache may keep it. */
const cacheHeaders = {
  etag: EntityTag.annotate({ description: "Changes whenever the body does; send it back as If-None-Match" }),
  "cache-control": matching(/^public, max-age=[0-9]{1,9}$/u, 30).annotate({ description: "public, max-age=<seconds>" })
}

/** The list, or 304 with no body when the client's copy (If-None-Match) is current. */
const cacheable = <S extends Schema.Top>(body: S) => [
  HttpApiSchema.WithHeaders(body, cacheHeaders),
  HttpApiSchema.WithHeaders(HttpApiSchema.Empty(304).annotate({ description: "Not modified: the copy you hold is current" }), cacheHeaders)
] as const

const conditional = {
  "if-none-match": Schema.optional(text(1024).annotate({
    description: "The ETag(s) of the copy you hold (or *): answered 304 with no body when it is current"
  }))
}

const CACHING = "Public (no token) and cacheable: `Cache-Control: public, max-age=300` and a strong `ETag`; " +
  "`If-None-Match` with the current tag answers 304 with no body. A change of the catalogue is served within a minute and reaches every cache within max-age after that."

export class CatalogueApi extends HttpApiGroup.make("catalogue")
  .add(
    HttpApiEndpoint.get("products", "/products", {
      headers: conditional,
      success: cacheable(ProductList),
      error: ServiceUnavailable
    }).annotateMerge(OpenApi.annotations({
      summary: "List the products",
      description: `Every product a design can be made for, with the printable area (mm) its canvas must fit, ordered by id. ${CACHING}`
    })),
    HttpApiEndpoint.get("plans", "/plans", {
      headers: conditional,
      success: cacheable(PlanList),
      error: ServiceUnavailable
    }).annotateMerge(OpenApi.annotations({
      summary: "List the plans",
      description: `Every subscription plan with its monthly design quota (null: unlimited), cheapest first. ${CACHING}`
    }))
  )
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({
    title: "Catalogue",
    description: "The products designs are made for and the subscription plans: public, cacheable"
  }))
{}
