import { Duration, Effect, Option, Schema } from "effect"
import { RateLimiter } from "effect/persistence"
import { LanguageModel } from "../../capabilities/ai/LanguageModel.ts"
import { MAX_TOP_K, VectorIndex } from "../../capabilities/vectors/VectorIndex.ts"
import { AiConfig, type AiSettings } from "../../config/AiConfig.ts"
import {
  AiBadReply,
  type AiBudget,
  AiRateLimited,
  AiUnavailable,
  designNamespace,
  FeatureUnavailable,
  MAX_SIMILAR_DESIGNS,
  type Suggestion,
  type SuggestionRequest
} from "../../domain/Ai.ts"
import { InvalidInput } from "../../domain/CommonErrors.ts"
import { type Design, DesignId } from "../../domain/Design.ts"
import { DesignNotFound } from "../../domain/DesignErrors.ts"
import { type Actor, authorize } from "../../domain/Policy.ts"
import type { UserId } from "../../domain/User.ts"
import { DesignLookup, designIndexingEnabled } from "../designs/Designs.ts"
import { DesignsRepository } from "../designs/DesignsRepository.ts"
import { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

const BUDGET_WINDOW = Duration.hours(1)

/** The feature a missing provider turns off, as the client sees it. */
const unavailableAs = (feature: "ai_suggestions" | "similar_designs") =>
<A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.mapError(self, (error): E | FeatureUnavailable =>
    error._tag === "FeatureUnavailable" ? new FeatureUnavailable({ feature }) : error)

/** Where each hourly budget is counted, and its size in the settings. */
const BUDGETS = {
  ai_suggestions: { key: "ai", limitOf: (settings: AiSettings) => settings.aiSuggestionsPerHour },
  similar_designs: { key: "similar", limitOf: (settings: AiSettings) => settings.similarSearchesPerHour }
} as const satisfies Record<AiBudget, unknown>

/**
 * Spends one call of a user's hourly budget (AI_SUGGESTIONS_PER_HOUR suggestions,
 * SIMILAR_SEARCHES_PER_HOUR similar-design searches) with Effect's RateLimiter on the shared
 * store (Redis: every instance counts together, atomically). Without the store the call is
 * refused (503) rather than let through uncounted: provider calls cost money.
 */
const spendBudget = Effect.fnUntraced(function*(budget: AiBudget, userId: UserId) {
  const limit = BUDGETS[budget].limitOf(yield* AiConfig)
  const limiter = yield* RateLimiter.make
  yield* limiter.consume({
    key: `${BUDGETS[budget].key}:${userId}`,
    limit,
    window: BUDGET_WINDOW,
    algorithm: "fixed-window",
    onExceeded: "fail"
  }).pipe(
    Effect.catchTag("RateLimiterError", (error): Effect.Effect<never, AiRateLimited | AiUnavailable> =>
      error.reason._tag === "RateLimitExceeded"
        ? Effect.fail(new AiRateLimited({
          budget,
          limit,
          retryAfterSeconds: Math.max(1, Math.ceil(Duration.toSeconds(error.reason.retryAfter)))
        }))
        : Effect.logWarning("ai: budget store unavailable, refusing the call", error).pipe(
          Effect.andThen(Effect.fail(new AiUnavailable({ provider: "rate_limiter", kind: "connection" })))
        ))
  )
})

/**
 * Design ideas for a product from the language model, decoded and checked against the
 * suggestion schema. Each call spends one unit of the caller's hourly AI budget.
 */
export const suggestDesigns = Effect.fn("suggestDesigns")(function*(
  actor: Actor,
  input: SuggestionRequest
): Effect.fn.Return<
  ReadonlyArray<Suggestion>,
  InvalidInput | AiRateLimited | AiUnavailable | AiBadReply | FeatureUnavailable | DatabaseUnavailable,
  LanguageModel | AiConfig | DesignsRepository | RateLimiter.RateLimiterStore
> {
  const model = yield* LanguageModel
  // Not configured: say so before spending anyone's budget.
  if (model.kind === "unconfigured") return yield* new FeatureUnavailable({ feature: "ai_suggestions" })
  const products = yield* (yield* DesignsRepository).products
  const product = products.find((p) => p.id === input.productType)
  if (product === undefined) {
    return yield* new InvalidInput({
      errors: [{ path: "productType", message: `Unknown product type; one of ${products.map((p) => p.id).join(", ")}` }]
    })
  }
  yield* spendBudget("ai_suggestions", actor.userId)
  return yield* model.suggest({
    productType: product.id,
    productName: product.name,
    printableWidthMm: product.printableWidthMm,
    printableHeightMm: product.printableHeightMm,
    prompt: input.prompt,
    style: input.style
  }).pipe(unavailableAs("ai_suggestions"))
})

/** What a design is embedded from: its name, product and the contents of its text layers. */
export const designText = (design: Design): string =>
  [
    design.name,
    `Product: ${design.productType}`,
    ...design.document.layers.flatMap((layer) => (layer.type === "text" ? [layer.content] : []))
  ].join("\n")

export type IndexOutcome = "indexed" | "removed" | "skipped"

/**
 * The `design.index` job: embeds a live design into its owner's namespace, or removes the
 * vector of a design that is gone. Idempotent (an upsert replaces, a delete of nothing is fine),
 * so at-least-once delivery is harmless. Without AI configuration there is nothing to do.
 *
 * `ownerId` is needed only to remove the vector of a deleted design (a deleted design can no
 * longer be read to find its owner). Without it the stale vector stays in its owner's
 * namespace, where `similarDesigns` drops it (it is not a live design) until the account's
 * namespace is deleted.
 */
export const indexDesign = Effect.fn("indexDesign")(function*(
  designId: DesignId,
  ownerId?: UserId
): Effect.fn.Return<
  IndexOutcome,
  AiUnavailable | AiBadReply | DatabaseUnavailable,
  DesignsRepository | LanguageModel | VectorIndex
> {
  if (!(yield* designIndexingEnabled)) return "skipped" as const
  const vectors = yield* VectorIndex
  const model = yield* LanguageModel
  const design = yield* (yield* DesignsRepository).findLive(designId)
  const work: Effect.Effect<IndexOutcome, AiUnavailable | AiBadReply | FeatureUnavailable> = Option.match(design, {
    onNone: () =>
      ownerId === undefined
        ? Effect.succeed<IndexOutcome>("skipped")
        : Effect.as(vectors.delete({ namespace: designNamespace(ownerId), ids: [designId] }), "removed" as const),
    onSome: (live) =>
      Effect.gen(function*() {
        const values = yield* model.embed(designText(live))
        // The namespace comes from the stored design, never from the job's payload.
        if (ownerId !== undefined && ownerId !== live.ownerId) {
          yield* vectors.delete({ namespace: designNamespace(ownerId), ids: [designId] })
        }
        yield* vectors.upsert({
          namespace: designNamespace(live.ownerId),
          id: live.id,
          values,
          metadata: {
            ownerId: live.ownerId,
            productType: live.productType,
            name: live.name.slice(0, 200),
            version: live.version,
            updatedAt: live.updatedAt.toISOString()
          }
        })
        return "indexed" as const
      })
  })
  return yield* work.pipe(Effect.catchTag("FeatureUnavailable", () => Effect.succeed<IndexOutcome>("skipped")))
})

/** The `account.cleanup` job's share: every vector of the user, in one call. */
export const forgetUser = Effect.fn("forgetUser")(function*(userId: UserId) {
  yield* (yield* VectorIndex).deleteNamespace(designNamespace(userId)).pipe(
    Effect.catchTag("FeatureUnavailable", () => Effect.void)
  )
})

export const DEFAULT_SIMILAR_LIMIT = 5
export const MAX_SIMILAR_LIMIT = MAX_SIMILAR_DESIGNS

/**
 * A vector's id as a design id, canonical (lower-case), or None for anything else: the guard
 * must decode (`Schema.is` would only check the decoded side, a plain string).
 */
export const designIdOfVector = Schema.decodeUnknownOption(DesignId)

/**
 * The caller's designs most similar to one of theirs. Only the caller's own namespace is
 * searched, and every match must still be a live design of theirs: a stale or foreign id is
 * dropped, so nobody can ever reach another user's design this way. Each search (an embedding
 * call and a vector query) spends one unit of the caller's SIMILAR_SEARCHES_PER_HOUR budget;
 * a missing design or missing configuration spends nothing.
 */
export const similarDesigns = Effect.fn("similarDesigns")(function*(
  actor: Actor,
  designId: DesignId,
  limit: number = DEFAULT_SIMILAR_LIMIT
): Effect.fn.Return<
  ReadonlyArray<Design>,
  DesignNotFound | AiRateLimited | AiUnavailable | AiBadReply | FeatureUnavailable | DatabaseUnavailable,
  DesignLookup | LanguageModel | VectorIndex | AiConfig | RateLimiter.RateLimiterStore
> {
  const lookup = yield* DesignLookup
  const design = yield* Effect.flatMap(
    lookup.live(designId),
    Option.match({ onNone: () => Effect.fail(new DesignNotFound()), onSome: Effect.succeed })
  )
  yield* authorize(actor, { kind: "owned", ownerId: design.ownerId }, "read", () => new DesignNotFound())
  const wanted = Math.max(1, Math.min(MAX_SIMILAR_LIMIT, Math.floor(limit)))
  const model = yield* LanguageModel
  const vectors = yield* VectorIndex
  if (vectors.kind === "unconfigured" || model.kind === "unconfigured") {
    return yield* new FeatureUnavailable({ feature: "similar_designs" })
  }
  yield* spendBudget("similar_designs", actor.userId)
  const values = yield* model.embed(designText(design)).pipe(unavailableAs("similar_designs"))
  const matches = yield* vectors.query({
    namespace: designNamespace(actor.userId),
    values,
    // Room for the design itself and for stale vectors of deleted designs.
    topK: Math.min(MAX_TOP_K, wanted * 2 + 1)
  }).pipe(unavailableAs("similar_designs"))
  const candidates = matches.flatMap((match) => Option.toArray(designIdOfVector(match.id))).filter((id) => id !== designId)
  const found = yield* Effect.forEach(candidates, (id) => lookup.live(id), { concurrency: 4 })
  return found
    .flatMap(Option.toArray)
    .filter((candidate) => candidate.ownerId === actor.userId)
    .slice(0, wanted)
})
