import { Context, Deferred, Effect, Layer, Option } from "effect"
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "effect/http"
import { type HttpApi, HttpApiClient, type HttpApiEndpoint, type HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"
import { IDEMPOTENCY_KEY_HEADER, Idempotent } from "../api/Idempotency.ts"
import { Authentication, ServiceAuthentication } from "../api/Security.ts"

/**
 * The Core API's client for frontends and workers: `HttpApiClient.make(CoreApi)` with the
 * credentials attached, access tokens refreshed once when they expire, and an Idempotency-Key on
 * every create. Imports only the contract (src/api, src/domain) and effect: it runs in a browser.
 *
 *   const api = await Effect.runPromise(CoreClient.make({ baseUrl, accessToken, refresh }).pipe(
 *     Effect.provide(FetchHttpClient.layer)))
 *   const design = await Effect.runPromise(api.designs.create({ payload }))
 */

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

export interface CoreClientOptions {
  /** Where the API is, e.g. https://api.example.com (the paths start with /api/v1). */
  readonly baseUrl: string | URL
  /** The current access token, sent as `Authorization: Bearer` to the endpoints that need one. */
  readonly accessToken?: Source<string | undefined>
  /**
   * Refreshes an expired access token: a 401 whose `code` is `token_expired` is retried once with
   * the refreshed token. Concurrent calls that meet the same expired token share one refresh.
   */
  readonly refresh?: RefreshOptions
  /** A worker's key for the internal routes (`X-Service-Key`). */
  readonly serviceKey?: Source<string | undefined>
  /** Makes the Idempotency-Key of a create when the call did not set one; default a random UUID. */
  readonly newIdempotencyKey?: () => string
  /**
   * Sends the access token and the service key to every protected endpoint, whichever scheme it
   * declares (tests that present a credential where it does not belong). Off by default.
   */
  readonly sendEveryCredential?: boolean
}

/** The Idempotency-Key the calls run inside `withIdempotencyKey` send (instead of a new one). */
const ChosenIdempotencyKey = Context.Reference<string | undefined>("customify/client/IdempotencyKey", {
  defaultValue: () => undefined
})

/**
 * Runs a create with this Idempotency-Key, e.g. one the frontend kept across a page reload so
 * that resubmitting the form cannot create twice. Without it each create call makes its own key,
 * reused on the call's own retry.
 */
export const withIdempotencyKey = (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.provideService(effect, ChosenIdempotencyKey, key)

const read = <A>(source: Source<A> | undefined, otherwise: A): Effect.Effect<A> =>
  source === undefined
    ? Effect.succeed(otherwise)
    : Effect.isEffect(source)
    ? source
    : Effect.promise(async () => await source())

const isIdempotent = (endpoint: HttpApiEndpoint.Top) => endpoint.middlewares.has(Idempotent as never)

/** Whether a 401 says the access token expired (and nothing else: a revoked session is not refreshed). */
const isExpiredToken = (response: HttpClientResponse.HttpClientResponse) =>
  response.status !== 401
    ? Effect.succeed(false)
    : response.json.pipe(
      Effect.map((body) => (body as { readonly code?: unknown } | null)?.code === "token_expired"),
      Effect.orElseSucceed(() => false)
    )

/** The current access token, refreshed at most once per expired token whatever the number of callers. */
const makeTokens = (options: CoreClientOptions, httpClient: HttpClient.HttpClient) => {
  let inflight: { readonly expired: string | undefined; readonly result: Deferred.Deferred<Option.Option<string>> } | undefined

  const callRefresh = (refreshToken: string) =>
    HttpApiClient.endpoint(CoreApi, { group: "auth", endpoint: "refresh", httpClient, baseUrl: options.baseUrl }).pipe(
      Effect.flatMap((refresh) => refresh({ payload: { refreshToken } }))
    )

  const refreshNow = (refresh: RefreshOptions) =>
    Effect.gen(function*() {
      const refreshToken = yield* read(refresh.refreshToken, undefined)
      if (refreshToken === undefined) return Option.none<string>()
      const answer = yield* Effect.option(callRefresh(refreshToken))
      if (Option.isNone(answer)) return Option.none<string>()
      const { accessToken, refreshToken: next } = answer.value.tokens
      const stored = refresh.onRefreshed({ accessToken, refreshToken: next })
      if (Effect.isEffect(stored)) yield* stored
      else yield* Effect.promise(async () => await stored)
      return Option.some(accessToken)
    })

  return {
    current: read(options.accessToken, undefined),
    /** A new access token after `expired` was refused, or None (no refresh configured, or it failed). */
    refreshed: (expired: string | undefined): Effect.Effect<Option.Option<string>> =>
      Effect.suspend(() => {
        const refresh = options.refresh
        if (refresh === undefined) return Effect.succeedNone
        if (inflight !== undefined && inflight.expired === expired) return Deferred.await(inflight.result)
        const result = Deferred.makeUnsafe<Option.Option<string>>()
        inflight = { expired, result }
        // Finishes even if this caller goes away: the others wait for it.
        return refreshNow(refresh).pipe(
          Effect.catchCause(() => Effect.succeedNone),
          Effect.tap((token) => Deferred.succeed(result, token)),
          Effect.uninterruptible
        )
      })
  }
}

const bearer = (token: string | undefined) => (request: HttpClientRequest.HttpClientRequest) =>
  token === undefined ? request : HttpClientRequest.bearerToken(request, token)

const serviceKeyHeader = (key: string | undefined) => (request: HttpClientRequest.HttpClientRequest) =>
  key === undefined ? request : HttpClientRequest.setHeader(request, "x-service-key", key)

/** The client side of the API's middlewares, for one set of options. */
export const middlewareClients = (options: CoreClientOptions, httpClient: HttpClient.HttpClient) => {
  const tokens = makeTokens(options, httpClient)
  const newKey = options.newIdempotencyKey ?? (() => crypto.randomUUID())
  const everyCredential = options.sendEveryCredential === true
  const serviceKey = read(options.serviceKey, undefined)

  /** The key is chosen once per call, before the first attempt, so a retry sends the same one. */
  const withIdempotencyKeyOf = (endpoint: HttpApiEndpoint.Top, request: HttpClientRequest.HttpClientRequest) =>
    !isIdempotent(endpoint) || request.headers[IDEMPOTENCY_KEY_HEADER] !== undefined
      ? Effect.succeed(request)
      : Effect.map(Effect.service(ChosenIdempotencyKey), (chosen) => HttpClientRequest.setHeader(request, IDEMPOTENCY_KEY_HEADER, chosen ?? newKey()))

  const authentication = HttpApiMiddleware.layerClient(Authentication, ({ endpoint, next, request }) =>
    Effect.gen(function*() {
      const keyed = yield* withIdempotencyKeyOf(endpoint, request)
      const extra = everyCredential ? serviceKeyHeader(yield* serviceKey) : (r: HttpClientRequest.HttpClientRequest) => r
      const sent = yield* tokens.current
      const response = yield* next(extra(bearer(sent)(keyed)))
      if (!(yield* isExpiredToken(response))) return response
      const fresh = yield* tokens.refreshed(sent)
      // Exactly one retry: a second 401 is the answer.
      return Option.isNone(fresh) ? response : yield* next(extra(bearer(fresh.value)(keyed)))
    }))

  const service = HttpApiMiddleware.layerClient(ServiceAuthentication, ({ next, request }) =>
    Effect.gen(function*() {
      const withKey = serviceKeyHeader(yield* serviceKey)(request)
      return yield* next(everyCredential ? bearer(yield* tokens.current)(withKey) : withKey)
    }))

  return Layer.merge(authentication, service)
}

/** A client of `api` (the Core API or a subset of it, e.g. in tests), over the HttpClient in context. */
export const makeFor = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<Id, Groups>,
  options: CoreClientOptions
): Effect.Effect<HttpApiClient.Client<Groups>, never, HttpClient.HttpClient> =>
  Effect.flatMap(Effect.service(HttpClient.HttpClient), (httpClient) =>
    HttpApiClient.make(api, { baseUrl: options.baseUrl }).pipe(
      Effect.provide(middlewareClients(options, httpClient))
    ) as Effect.Effect<HttpApiClient.Client<Groups>, never, HttpClient.HttpClient>)

/** The Core API's client (see the module's description). */
export const make = (options: CoreClientOptions) => makeFor(CoreApi, options)

export type Client = HttpApiClient.Client<typeof CoreApi extends HttpApi.HttpApi<string, infer Groups> ? Groups : never>
