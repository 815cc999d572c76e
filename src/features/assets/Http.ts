import { Effect } from "effect"
import { type HttpApi, HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Assets from "./Assets.ts"

type AssetsGroup = typeof ServerApi extends HttpApi.HttpApi<string, infer Groups>
  ? HttpApiGroup.WithIdentifier<Groups, "assets">
  : never

/** The handlers, for `HttpApiBuilder.group(<api>, "assets", buildAssetsHandlers)` on any API holding the group. */
export const buildAssetsHandlers = (handlers: HttpApiBuilder.Handlers.FromGroup<AssetsGroup>) =>
  handlers
    .handle("requestUpload", ({ params, payload }) =>
      answerAs((actor) => Assets.requestUpload(actor, params.id, payload)).pipe(
          Effect.map((grant) => ({
            assetId: grant.asset.id,
            uploadUrl: grant.url,
            method: grant.method,
            headers: grant.headers,
            expiresAt: grant.expiresAt
          }))
        ))
    .handle("complete", ({ params }) =>
      answerAs((actor) => Assets.completeUpload(actor, params.id, params.assetId)))
    .handle("download", ({ params }) =>
      answerAs((actor) => Assets.getDownload(actor, params.id, params.assetId)))
    .handle("list", ({ params, query }) => answerAs((actor) => Assets.listAssets(actor, params.id, query)))
    .handle("delete", ({ params }) => answerAs((actor) => Assets.deleteAsset(actor, params.id, params.assetId)))

export const AssetsHandlers = HttpApiBuilder.group(ServerApi, "assets", (handlers) =>
  Effect.succeed(buildAssetsHandlers(handlers)))
