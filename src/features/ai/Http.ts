import { Effect } from "effect"
import { type HttpApi, HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import type { AiApi } from "../../api/Ai.ts"
import * as AiProblems from "../../api/AiProblems.ts"
import * as Problems from "../../api/Problems.ts"
import { CurrentActor } from "../../api/Security.ts"
import type * as AiErrors from "../../domain/Ai.ts"
import type * as CommonErrors from "../../domain/CommonErrors.ts"
import { toDesignView } from "../designs/Http.ts"
import * as Ai from "./Ai.ts"

const retryHint = (seconds: number | undefined) => (seconds === undefined ? "retry shortly" : `retry in ${seconds} s`)

/**
 * How the AI use cases' errors are told to a client. (To be merged into the one table in
 * src/http/DomainProblems.ts; kept here so this feature lands without touching it.)
 */
const problems = {
  FeatureUnavailable: (error: AiErrors.FeatureUnavailable) =>
    new AiProblems.FeatureUnavailable({
      feature: error.feature,
      detail: "The AI provider is not configured on this server"
    }),
  AiUnavailable: (error: AiErrors.AiUnavailable) =>
    new Problems.ServiceUnavailable({
      detail: `The AI provider is unavailable (${error.kind.replace("_", " ")}); ${retryHint(error.retryAfterSeconds)}`
    }),
  AiBadReply: () => new AiProblems.BadGateway({ detail: "The AI provider sent an unusable reply; retry" }),
  AiRateLimited: (error: AiErrors.AiRateLimited) =>
    new AiProblems.AiRateLimited({
      retryAfter: error.retryAfterSeconds,
      detail: "Hourly AI budget spent; retry after retryAfter seconds"
    }),
  DesignNotFound: () => new Problems.NotFound({}),
  InvalidInput: (error: CommonErrors.InvalidInput) =>
    new Problems.ValidationFailed({ errors: error.errors.map((e) => ({ ...e, location: "body" as const })) })
}

type AiProblemTable = typeof problems
type ProblemOf<E> = E extends { readonly _tag: infer Tag extends keyof AiProblemTable } ? ReturnType<AiProblemTable[Tag]>
  : never

const answer = <A, E extends { readonly _tag: keyof AiProblemTable }, R>(
  useCase: Effect.Effect<A, E, R>
): Effect.Effect<A, ProblemOf<E>, R> =>
  Effect.mapError(useCase, (error) => (problems[error._tag] as unknown as (error: E) => ProblemOf<E>)(error))

/**
 * The "ai" group's handlers for any API that includes `AiApi` (the Core API once it adds the
 * group, or a test API). Thin: the actor, the use case, the view.
 */
export const makeAiHandlers = <ApiId extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<ApiId, Groups> & ("ai" extends HttpApiGroup.Identifier<Groups> ? unknown : never)
) =>
  HttpApiBuilder.group(api as unknown as HttpApi.HttpApi<ApiId, typeof AiApi>, "ai", (handlers) =>
    Effect.succeed(
      handlers
        .handle("suggest", ({ payload }) =>
          Effect.flatMap(Effect.service(CurrentActor), (actor) =>
            answer(Ai.suggestDesigns(actor, payload)).pipe(Effect.map((suggestions) => ({ suggestions })))))
        .handle("similar", ({ params, query }) =>
          Effect.flatMap(Effect.service(CurrentActor), (actor) =>
            answer(Ai.similarDesigns(actor, params.id, query.limit ?? Ai.DEFAULT_SIMILAR_LIMIT)).pipe(
              Effect.map((designs) => ({ data: designs.map(toDesignView) }))
            )))
    ))
