import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { MAX_SIMILAR_DESIGNS, MAX_SUGGESTIONS, Suggestion, SuggestionRequest } from "../domain/Ai.ts"
import { DesignId } from "../domain/Design.ts"
import { positiveIntFromString } from "../domain/Primitives.ts"
import { AiRateLimited, BadGateway, FeatureUnavailable } from "./AiProblems.ts"
import { DesignView } from "./Designs.ts"
import { NotFound, ServiceUnavailable, ValidationFailed } from "./Problems.ts"
import { Authentication } from "./Security.ts"

export const Suggestions = Schema.Struct({
  suggestions: Schema.Array(Suggestion).check(Schema.isMaxLength(MAX_SUGGESTIONS))
}).annotate({ identifier: "Suggestions" })

export const SimilarDesigns = Schema.Struct({
  data: Schema.Array(DesignView).check(Schema.isMaxLength(MAX_SIMILAR_DESIGNS)).annotate({
    description: "Most similar first; never another user's design"
  })
}).annotate({ identifier: "SimilarDesigns" })

export const SimilarLimit = positiveIntFromString(MAX_SIMILAR_DESIGNS, `1 to ${MAX_SIMILAR_DESIGNS}, default 5`)

/**
 * AI design suggestions and similar designs. Without the provider's configuration each
 * endpoint answers 503 `feature_unavailable`; a provider outage is 503 `service_unavailable`
 * and an unusable provider reply 502 `bad_gateway`, never a failure of the rest of the API.
 */
export class AiApi extends HttpApiGroup.make("ai")
  .add(
    HttpApiEndpoint.post("suggest", "/api/v1/ai/suggestions", {
      payload: SuggestionRequest,
      success: Suggestions,
      error: [ValidationFailed, AiRateLimited, FeatureUnavailable, ServiceUnavailable, BadGateway]
    }).annotateMerge(OpenApi.annotations({
      summary: "Suggest designs for a product",
      description: "Counts against the caller's hourly AI_SUGGESTIONS_PER_HOUR budget (429 `ai_rate_limited` with `budget: ai_suggestions`, `limit` and Retry-After beyond it)."
    })),
    HttpApiEndpoint.get("similar", "/api/v1/designs/:id/similar", {
      params: { id: DesignId },
      query: { limit: Schema.optional(SimilarLimit) },
      success: SimilarDesigns,
      error: [NotFound, ValidationFailed, AiRateLimited, FeatureUnavailable, ServiceUnavailable, BadGateway]
    }).annotateMerge(OpenApi.annotations({
      description: "Searches only the caller's own designs. Needs OpenAI and Pinecone configured (503 `feature_unavailable` otherwise). " +
        "Each search counts against the caller's hourly SIMILAR_SEARCHES_PER_HOUR budget (429 `ai_rate_limited` with `budget: similar_designs`, `limit` and Retry-After beyond it).",
      summary: "The caller's designs most similar to one of theirs"
    }))
  )
  .middleware(Authentication)
  .annotateMerge(OpenApi.annotations({ title: "AI", description: "Design suggestions and similar designs" }))
{}
