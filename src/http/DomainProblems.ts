import { Effect } from "effect"
import { CurrentActor } from "../api/Security.ts"
import type { Actor } from "../domain/Policy.ts"
import * as AiProblems from "../api/AiProblems.ts"
import * as AssetProblems from "../api/AssetProblems.ts"
import * as JobProblems from "../api/JobProblems.ts"
import * as Problems from "../api/Problems.ts"
import type * as AiErrors from "../domain/Ai.ts"
import type * as AssetErrors from "../domain/Asset.ts"
import type * as AuthErrors from "../domain/AuthErrors.ts"
import type * as CommonErrors from "../domain/CommonErrors.ts"
import type * as DesignErrors from "../domain/DesignErrors.ts"

/**
 * How each domain error is told to a client: the one table from use-case errors (no HTTP in
 * them) to the problems the HttpApi declares.
 */
const problems = {
  InvalidCredentials: () => new Problems.InvalidCredentials({}),
  EmailTaken: () => new Problems.EmailTaken({}),
  AccountDisabled: () => new Problems.AccountDisabled({}),
  InvalidAccessToken: (error: AuthErrors.InvalidAccessToken) =>
    new Problems.Unauthorized(
      error.reason === "expired"
        ? { code: "token_expired", detail: "The access token expired; refresh it" }
        : error.reason === "missing"
        ? { code: "unauthorized", detail: "Send an access token as Authorization: Bearer <token>" }
        : { code: "unauthorized", detail: "The access token is not acceptable" }
    ),
  SessionRevoked: () =>
    new Problems.Unauthorized({ code: "session_revoked", detail: "This session has ended; sign in again" }),
  InvalidRefreshToken: () => new Problems.InvalidRefreshToken({}),
  RefreshTokenReused: () => new Problems.RefreshTokenReused({}),
  TooManyLoginAttempts: (error: AuthErrors.TooManyLoginAttempts) =>
    new Problems.TooManyAttempts({ retryAfter: error.retryAfterSeconds }),
  InvalidResetToken: () => new Problems.InvalidResetToken({}),
  PasswordHashingBusy: () =>
    new Problems.Busy({ detail: "Too many sign-ins and password changes are waiting; retry shortly" }),
  IncorrectPassword: () => new Problems.IncorrectPassword({}),
  Forbidden: () => new Problems.Forbidden({}),
  UserNotFound: () => new Problems.NotFound({}),
  DesignNotFound: () => new Problems.NotFound({}),
  OrderNotFound: () => new Problems.NotFound({}),
  JobNotFound: () => new Problems.NotFound({}),
  SubscriptionNotFound: () => new Problems.NotFound({ detail: "No subscription" }),
  VersionConflict: (error: DesignErrors.VersionConflict) =>
    new Problems.VersionConflict({ currentVersion: error.currentVersion }),
  QuotaExceeded: (error: DesignErrors.QuotaExceeded) =>
    new Problems.QuotaExceeded({ limit: error.limit, used: error.used, resetsAt: error.resetsAt }),
  SubscriptionInactive: (error: DesignErrors.SubscriptionInactive) =>
    new Problems.SubscriptionInactive({ subscriptionStatus: error.status }),
  RenderRateLimited: (error: DesignErrors.RenderRateLimited) =>
    new JobProblems.RenderRateLimited({
      limit: error.limit,
      retryAfter: error.retryAfterSeconds,
      detail: `${error.limit} render and PDF jobs an hour (RENDER_JOBS_PER_HOUR) requested; retry later`
    }),
  DesignInvalid: (error: DesignErrors.DesignInvalid) =>
    new Problems.ValidationFailed({ errors: error.errors.map((e) => ({ ...e, location: "body" as const })) }),
  InvalidInput: (error: CommonErrors.InvalidInput) =>
    new Problems.ValidationFailed({ errors: error.errors.map((e) => ({ ...e, location: "body" as const })) }),
  InvalidCursor: () =>
    new Problems.InvalidCursor({ detail: "Expected a cursor from a previous page of this list, as it was answered" }),
  AssetNotFound: () => new Problems.NotFound({}),
  SessionNotFound: () => new Problems.NotFound({}),
  AssetInUse: (error: AssetErrors.AssetInUse) =>
    new AssetProblems.AssetInUse({
      designIds: error.designIds,
      detail: `An image layer of ${error.designIds.length === 1 ? "a design" : `${error.designIds.length} designs`} shows this upload; remove those layers first`
    }),
  AssetTooLarge: (error: AssetErrors.AssetTooLarge) =>
    new AssetProblems.AssetTooLarge({
      maxBytes: error.maxBytes,
      detail: `${error.byteSize} bytes declared; uploads are limited to ${error.maxBytes} bytes`
    }),
  AssetNotUploaded: (error: AssetErrors.AssetNotUploaded) =>
    new AssetProblems.AssetNotUploaded({ reason: error.reason, detail: error.detail }),
  InvalidAssetReference: (error: AssetErrors.InvalidAssetReference) =>
    new Problems.ValidationFailed({
      errors: error.paths.map((path) => ({
        path,
        location: "body" as const,
        message: "Expected the id of a completed upload of this design's owner"
      }))
    }),
  UploadLimitReached: (error: AssetErrors.UploadLimitReached) =>
    error.scope === "design"
      ? new AssetProblems.UploadLimitReached({
        code: "too_many_assets",
        limit: error.limit,
        detail: `A design may have ${error.limit} uploads (UPLOADS_PER_DESIGN)`
      })
      : new AssetProblems.UploadLimitReached({
        code: "too_many_pending_uploads",
        limit: error.limit,
        detail: `${error.limit} uploads are pending (PENDING_UPLOADS_PER_USER); complete them first (unfinished ones are removed an hour after their URLs expire)`
      }),
  StorageUnavailable: () => new Problems.ServiceUnavailable({ detail: "File storage is unavailable; retry shortly" }),
  FeatureUnavailable: (error: AiErrors.FeatureUnavailable) =>
    new AiProblems.FeatureUnavailable({ feature: error.feature, detail: "The AI provider is not configured on this server" }),
  AiUnavailable: (error: AiErrors.AiUnavailable) =>
    new Problems.ServiceUnavailable({
      detail: `The AI provider is unavailable (${error.kind.replace("_", " ")}); ${
        error.retryAfterSeconds === undefined ? "retry shortly" : `retry in ${error.retryAfterSeconds} s`
      }`
    }),
  AiBadReply: () => new AiProblems.BadGateway({ detail: "The AI provider sent an unusable reply; retry" }),
  AiRateLimited: (error: AiErrors.AiRateLimited) =>
    new AiProblems.AiRateLimited({
      budget: error.budget,
      limit: error.limit,
      retryAfter: error.retryAfterSeconds,
      detail: error.budget === "similar_designs"
        ? `${error.limit} similar-design searches an hour (SIMILAR_SEARCHES_PER_HOUR) spent; retry later`
        : `${error.limit} AI suggestions an hour (AI_SUGGESTIONS_PER_HOUR) spent; retry later`
    }),
  DatabaseUnavailable: () =>
    new Problems.ServiceUnavailable({ detail: "The database is unreachable; retry shortly" }),
  CacheError: () =>
    new Problems.ServiceUnavailable({ detail: "A backing service is unavailable; retry shortly" }),
  QueueError: () =>
    new Problems.ServiceUnavailable({ detail: "A backing service is unavailable; retry shortly" })
}

type Problems = typeof problems
type Known = { readonly _tag: keyof Problems }
type ProblemOf<E> = E extends { readonly _tag: infer Tag extends keyof Problems } ? ReturnType<Problems[Tag]> : never

export const toProblem = <E extends Known>(error: E): ProblemOf<E> =>
  (problems[error._tag] as unknown as (error: E) => ProblemOf<E>)(error)

/** Runs a use case and answers its domain errors with their problems. */
export const answer = <A, E extends Known, R>(useCase: Effect.Effect<A, E, R>): Effect.Effect<A, ProblemOf<E>, R> =>
  Effect.mapError(useCase, toProblem)

/** Runs a use case as the signed-in actor (set by the Authentication middleware), answering its domain errors with their problems. */
export const answerAs = <A, E extends Known, R>(
  useCase: (actor: Actor) => Effect.Effect<A, E, R>
): Effect.Effect<A, ProblemOf<E>, R | CurrentActor> => Effect.flatMap(Effect.service(CurrentActor), (actor) => answer(useCase(actor)))
