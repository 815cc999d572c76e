import { Schema } from "effect"
import { ProductType } from "./Design.ts"
import { FONT_FAMILIES, HexColor } from "./DesignDocument.ts"
import { trimmedInput } from "./Primitives.ts"

/**
 * AI design suggestions and similar designs: the schemas shared by the HTTP contract, the use
 * cases and the decoding of a language model's reply (nothing the model says is trusted before
 * it passes `SuggestionsReply`).
 */
export const MAX_PROMPT_LENGTH = 500
/** Suggestions asked of the model per call. */
export const SUGGESTIONS_PER_CALL = 3
/** A reply with more suggestions than this is refused, not truncated. */
export const MAX_SUGGESTIONS = 5
export const MAX_PALETTE = 6
/** Similar designs answered per call, at most. */
export const MAX_SIMILAR_DESIGNS = 20

export const SUGGESTION_STYLES = ["minimal", "playful", "vintage", "bold", "elegant", "modern", "handwritten"] as const
export const SuggestionStyle = Schema.Literals(SUGGESTION_STYLES)
export type SuggestionStyle = typeof SuggestionStyle.Type

export const Suggestion = Schema.Struct({
  title: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(80)),
  /** The words to print on the product. */
  text: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)),
  palette: Schema.Array(HexColor).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_PALETTE)),
  fontFamily: Schema.Literals(FONT_FAMILIES)
}).annotate({ identifier: "Suggestion" })
export type Suggestion = typeof Suggestion.Type

/** What a language model must answer: decoded, never trusted as is. */
export const SuggestionsReply = Schema.Struct({
  suggestions: Schema.Array(Suggestion).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_SUGGESTIONS))
})

export const SuggestionPrompt = trimmedInput(
  MAX_PROMPT_LENGTH,
  `What the design is about, 1 to ${MAX_PROMPT_LENGTH} characters`
).pipe(
  Schema.decodeTo(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(MAX_PROMPT_LENGTH)))
)

export const SuggestionRequest = Schema.Struct({
  productType: ProductType,
  prompt: SuggestionPrompt,
  style: Schema.optionalKey(SuggestionStyle)
}).annotate({ identifier: "SuggestionRequest" })
export type SuggestionRequest = typeof SuggestionRequest.Type

/** The input of a language model call, after the use case has checked it. */
export interface SuggestionInput {
  readonly productType: string
  readonly productName: string
  /** The printable area, so that suggestions fit the product. */
  readonly printableWidthMm: number
  readonly printableHeightMm: number
  readonly prompt: string
  readonly style?: SuggestionStyle | undefined
}

/** The vector namespace of a user's designs: derived from the owner, never from client input. */
export const designNamespace = (ownerId: string) => `user:${ownerId}`

// ---- Errors -----------------------------------------------------------------------------------

/** The feature's provider is not configured on this server (no API key): 503, not a fault. */
export class FeatureUnavailable extends Schema.TaggedError<FeatureUnavailable>()("FeatureUnavailable", {
  feature: Schema.String
}) {}

/** The provider is down, slow, rate limiting us, refusing our credentials, or its circuit is open. */
export class AiUnavailable extends Schema.TaggedError<AiUnavailable>()("AiUnavailable", {
  provider: Schema.String,
  kind: Schema.Literals(["timeout", "rate_limited", "server_error", "connection", "rejected", "circuit_open"]),
  retryAfterSeconds: Schema.optionalKey(Schema.Int)
}) {}

/** The provider answered with something unusable: malformed, off-schema, too large. */
export class AiBadReply extends Schema.TaggedError<AiBadReply>()("AiBadReply", {
  provider: Schema.String,
  detail: Schema.String
}) {}

/** The AI budgets, each per user per hour: suggestions and similar-design searches. */
export const AiBudget = Schema.Literals(["ai_suggestions", "similar_designs"])
export type AiBudget = typeof AiBudget.Type

/** The caller spent one of their hourly AI budgets (`limit` calls an hour). */
export class AiRateLimited extends Schema.TaggedError<AiRateLimited>()("AiRateLimited", {
  budget: AiBudget,
  limit: Schema.Int,
  retryAfterSeconds: Schema.Int
}) {}
