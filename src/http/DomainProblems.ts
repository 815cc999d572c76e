import { Effect } from "effect"
import * as Problems from "../api/Problems.ts"
import type * as AuthErrors from "../domain/AuthErrors.ts"
import type { CacheError } from "../capabilities/cache/CacheStore.ts"
import type { QueueError } from "../capabilities/queue/JobQueue.ts"

/**
 * How each domain error is told to a client: the one table from use-case errors (no HTTP in
 * them) to the problems the HttpApi declares.
 */
const problems = {
  InvalidCredentials: (_: AuthErrors.InvalidCredentials) => new Problems.InvalidCredentials({}),
  EmailTaken: (_: AuthErrors.EmailTaken) => new Problems.EmailTaken({}),
  AccountDisabled: (_: AuthErrors.AccountDisabled) => new Problems.AccountDisabled({}),
  InvalidAccessToken: (error: AuthErrors.InvalidAccessToken) =>
    new Problems.Unauthorized(
      error.reason === "expired"
        ? { code: "token_expired", detail: "The access token expired; refresh it" }
        : error.reason === "missing"
        ? { code: "unauthorized", detail: "Send an access token as Authorization: Bearer <token>" }
        : { code: "unauthorized", detail: "The access token is not acceptable" }
    ),
  SessionRevoked: (_: AuthErrors.SessionRevoked) =>
    new Problems.Unauthorized({ code: "session_revoked", detail: "This session has ended; sign in again" }),
  InvalidRefreshToken: (_: AuthErrors.InvalidRefreshToken) => new Problems.InvalidRefreshToken({}),
  RefreshTokenReused: (_: AuthErrors.RefreshTokenReused) => new Problems.RefreshTokenReused({}),
  TooManyLoginAttempts: (error: AuthErrors.TooManyLoginAttempts) =>
    new Problems.TooManyAttempts({ retryAfter: error.retryAfterSeconds }),
  InvalidResetToken: (_: AuthErrors.InvalidResetToken) => new Problems.InvalidResetToken({}),
  IncorrectPassword: (_: AuthErrors.IncorrectPassword) => new Problems.IncorrectPassword({}),
  Forbidden: (_: AuthErrors.Forbidden) => new Problems.Forbidden({}),
  UserNotFound: (_: AuthErrors.UserNotFound) => new Problems.NotFound({}),
  CacheError: (_: CacheError) =>
    new Problems.ServiceUnavailable({ detail: "A backing service is unavailable; retry shortly" }),
  QueueError: (_: QueueError) =>
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
