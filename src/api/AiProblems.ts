import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"
import { AiBudget } from "../domain/Ai.ts"
import { Int32, matching } from "../domain/Primitives.ts"
import { problemMembers, problemType } from "./Problems.ts"

/**
 * Problems of the AI endpoints, in the shape of every other problem: a stable snake_case
 * `code` and the request's `requestId` (filled in by the server).
 */

/** The provider behind the feature is not configured on this server: not a fault, not retryable. */
export class FeatureUnavailable extends HttpApiError.Problem<FeatureUnavailable>()("FeatureUnavailable", {
  type: problemType("feature_unavailable"),
  status: 503,
  title: "This feature is not available on this server"
}, {
  code: Schema.tag("feature_unavailable"),
  ...problemMembers,
  feature: matching(/^[a-z][a-z0-9_]{0,39}$/u, 40).annotate({
    description: "The feature that is off, e.g. ai_suggestions or similar_designs"
  })
}) {}

/** The upstream provider answered with something unusable (malformed, off-schema, too large). */
export class BadGateway extends HttpApiError.Problem<BadGateway>()("BadGateway", {
  type: problemType("bad_gateway"),
  status: 502,
  title: "The upstream provider sent an unusable reply"
}, {
  code: Schema.tag("bad_gateway"),
  ...problemMembers
}) {}

/**
 * One of the caller's hourly AI budgets is spent: suggestions (AI_SUGGESTIONS_PER_HOUR) or
 * similar-design searches (SIMILAR_SEARCHES_PER_HOUR).
 */
export class AiRateLimited extends HttpApiError.Problem<AiRateLimited>()("AiRateLimited", {
  type: problemType("ai_rate_limited"),
  status: 429,
  title: "Too many AI requests; try again later"
}, {
  code: Schema.tag("ai_rate_limited"),
  ...problemMembers,
  budget: AiBudget.annotate({
    description: "ai_suggestions: AI_SUGGESTIONS_PER_HOUR; similar_designs: SIMILAR_SEARCHES_PER_HOUR"
  }),
  limit: Int32.annotate({ description: "Calls of this kind allowed per user per hour" }),
  retryAfter: Int32.annotate({ description: "Seconds to wait, also sent as Retry-After" })
}) {}
