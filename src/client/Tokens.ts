import { Deferred, Effect, Option, Result } from "effect"
import type { HttpClient, HttpClientResponse } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"

/** Access tokens as the client package uses them: read when needed, refreshed once when expired. */

/** A value the client reads when it needs it: an Effect, or a function (sync or async). */
export type Source<A> = Effect.Effect<A> | (() => A | PromiseLike<A>)

export interface TokenPair {
  readonly accessToken: string
  readonly refreshToken: string
}

export interface RefreshOptions {
  /** The current refresh token; undefined: none, the 401 is answered as it came. */
  readonly refreshToken: Source<string | undefined>
  /** Called with the new pair after each refresh (refresh tokens rotate: keep the new one). */
  readonly onRefreshed: (tokens: TokenPair) => void | PromiseLike<void> | Effect.Effect<void>
}

/** Reads a `Source`; `otherwise` when there is none. */
export const read = <A>(source: Source<A> | undefined, otherwise: A): Effect.Effect<A> =>
  source === undefined
    ? Effect.succeed(otherwise)
    : Effect.isEffect(source)
    ? source
    : Effect.promise(async () => await source())

/** Whether a 401 says the access token expired (and nothing else: a revoked session is not refreshed). */
export const isExpiredToken = (response: HttpClientResponse.HttpClientResponse) =>
  response.status !== 401
    ? Effect.succeed(false)
    : response.json.pipe(
      Effect.map((body) => (body as { readonly code?: unknown } | null)?.code === "token_expired"),
      Effect.orElseSucceed(() => false)
    )

/** The current access token, refreshed at most once per expired token whatever the number of callers. */
export const makeTokens = (
  options: { readonly baseUrl: string | URL; readonly accessToken?: Source<string | undefined>; readonly refresh?: RefreshOptions },
  httpClient: HttpClient.HttpClient
) => {
  let inflight: { readonly expired: string | undefined; readonly result: Deferred.Deferred<Option.Option<string>> } | undefined

  const callRefresh = (refreshToken: string) =>
    HttpApiClient.endpoint(CoreApi, { group: "auth", endpoint: "refresh", httpClient, baseUrl: options.baseUrl }).pipe(
      Effect.flatMap((refresh) => refresh({ payload: { refreshToken } }))
    )

  const refreshNow = (refresh: RefreshOptions) =>
    Effect.gen(function*() {
      const refreshToken = yield* read(refresh.refreshToken, undefined)
      if (refreshToken === undefined) return refused
      const answer = yield* Effect.result(callRefresh(refreshToken))
      if (Result.isFailure(answer)) return isRefusal(answer.failure) ? refused : lost
      const { accessToken, refreshToken: next } = answer.success.tokens
      const stored = refresh.onRefreshed({ accessToken, refreshToken: next })
      if (Effect.isEffect(stored)) yield* stored
      else yield* Effect.promise(async () => await stored)
      return { token: Option.some(accessToken), final: true }
    })

  return {
    current: read(options.accessToken, undefined),
    /**
     * A new access token after `expired` was refused, or None (no refresh configured, or it
     * failed). The callers that sent `expired` share one answer; a refusal stays the answer
     * for that token, a refresh lost to an outage is tried again by the next call.
     */
    refreshed: (expired: string | undefined): Effect.Effect<Option.Option<string>> =>
      Effect.suspend(() => {
        const refresh = options.refresh
        if (refresh === undefined) return Effect.succeedNone
        if (inflight !== undefined && inflight.expired === expired) return Deferred.await(inflight.result)
        const result = Deferred.makeUnsafe<Option.Option<string>>()
        const mine = { expired, result }
        inflight = mine
        // Finishes even if this caller goes away: the others wait for it.
        return Effect.gen(function*() {
          // Replaced since it was sent (by another tab sharing the storage): the current one, no refresh.
          const current = yield* read(options.accessToken, undefined)
          if (current !== undefined && current !== expired) return { token: Option.some(current), final: true }
          return yield* refreshNow(refresh)
        }).pipe(
          Effect.catchCause(() => Effect.succeed(lost)),
          Effect.flatMap(({ final, token }) =>
            Effect.sync(() => {
              if (!final && inflight === mine) inflight = undefined
            }).pipe(Effect.andThen(Deferred.succeed(result, token)), Effect.as(token))
          ),
          Effect.uninterruptible
        )
      })
  }
}

/** What a refresh ended with; `final`: the answer for its expired token (not an outage to try again). */
interface Refreshed {
  readonly token: Option.Option<string>
  readonly final: boolean
}

const refused: Refreshed = { token: Option.none(), final: true }
const lost: Refreshed = { token: Option.none(), final: false }

/** The server refused the refresh token (a 4xx problem), as opposed to an outage or a lost connection. */
const isRefusal = (error: unknown) => {
  const status = (error as { readonly status?: unknown } | null)?.status
  return typeof status === "number" && status >= 400 && status < 500
}
