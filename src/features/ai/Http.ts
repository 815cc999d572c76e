import { Effect } from "effect"
import { type HttpApi, HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import type { AiApi } from "../../api/Ai.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Ai from "./Ai.ts"


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
          answerAs((actor) => Ai.suggestDesigns(actor, payload)).pipe(Effect.map((suggestions) => ({ suggestions }))))
        .handle("similar", ({ params, query }) =>
          answerAs((actor) => Ai.similarDesigns(actor, params.id, query.limit ?? Ai.DEFAULT_SIMILAR_LIMIT)).pipe(
            Effect.map((data) => ({ data }))
          ))
    ))
