import { Effect } from "effect"
import { HttpApi, HttpApiBuilder, type HttpApiGroup } from "effect/http-api"
import { withConventions } from "../../api/Api.ts"
import * as AssetProblems from "../../api/AssetProblems.ts"
import { AssetsApi, type AssetView } from "../../api/Assets.ts"
import * as Problems from "../../api/Problems.ts"
import { CurrentActor } from "../../api/Security.ts"
import type { Asset } from "../../domain/Asset.ts"
import type * as AssetErrors from "../../domain/Asset.ts"
import * as Assets from "./Assets.ts"

export const toAssetView = (asset: Asset): typeof AssetView.Type => ({
  id: asset.id,
  designId: asset.designId,
  fileName: asset.fileName,
  contentType: asset.contentType,
  byteSize: asset.byteSize,
  status: asset.status,
  createdAt: asset.createdAt.toISOString(),
  completedAt: asset.completedAt === null ? null : asset.completedAt.toISOString()
})

/** How the assets use cases' errors are told to a client (the entries belong in DomainProblems.ts). */
const problems = {
  DesignNotFound: () => new Problems.NotFound({}),
  AssetNotFound: () => new Problems.NotFound({}),
  AssetTooLarge: (error: AssetErrors.AssetTooLarge) =>
    new AssetProblems.AssetTooLarge({
      maxBytes: error.maxBytes,
      detail: `${error.byteSize} bytes declared; uploads are limited to ${error.maxBytes} bytes`
    }),
  AssetNotUploaded: (error: AssetErrors.AssetNotUploaded) =>
    new AssetProblems.AssetNotUploaded({ reason: error.reason, detail: error.detail }),
  StorageUnavailable: () =>
    new Problems.ServiceUnavailable({ detail: "File storage is unavailable; retry shortly" })
}

type Known = { readonly _tag: keyof typeof problems }
type ProblemOf<E> = E extends { readonly _tag: infer Tag extends keyof typeof problems }
  ? ReturnType<(typeof problems)[Tag]>
  : never

const answer = <A, E extends Known, R>(useCase: Effect.Effect<A, E, R>): Effect.Effect<A, ProblemOf<E>, R> =>
  Effect.mapError(useCase, (error) => (problems[error._tag] as unknown as (error: E) => ProblemOf<E>)(error))

/**
 * The assets group in an API with the Core API's conventions. Until the group is part of
 * `CoreApi`, handlers are built against this; the group's type is the same in both.
 */
export const AssetsGroupApi = withConventions(HttpApi.make("customify-core-api").add(AssetsApi))

type AssetsGroup = typeof AssetsGroupApi extends HttpApi.HttpApi<string, infer Groups>
  ? HttpApiGroup.WithIdentifier<Groups, "assets">
  : never

/** The handlers, for `HttpApiBuilder.group(<api>, "assets", buildAssetsHandlers)` on any API holding the group. */
export const buildAssetsHandlers = (handlers: HttpApiBuilder.Handlers.FromGroup<AssetsGroup>) =>
  handlers
    .handle("requestUpload", ({ params, payload }) =>
      Effect.flatMap(Effect.service(CurrentActor), (actor) =>
        answer(Assets.requestUpload(actor, params.id, payload)).pipe(
          Effect.map((grant) => ({
            assetId: grant.asset.id,
            uploadUrl: grant.url,
            method: grant.method,
            headers: grant.headers,
            expiresAt: grant.expiresAt.toISOString()
          }))
        )))
    .handle("complete", ({ params }) =>
      Effect.flatMap(Effect.service(CurrentActor), (actor) =>
        answer(Assets.completeUpload(actor, params.id, params.assetId)).pipe(Effect.map(toAssetView))))
    .handle("download", ({ params }) =>
      Effect.flatMap(Effect.service(CurrentActor), (actor) =>
        answer(Assets.getDownload(actor, params.id, params.assetId)).pipe(
          Effect.map((link) => ({ url: link.url, expiresAt: link.expiresAt.toISOString() }))
        )))

export const AssetsHandlers = HttpApiBuilder.group(AssetsGroupApi, "assets", (handlers) =>
  Effect.succeed(buildAssetsHandlers(handlers)))
