import { Context, Effect, Layer, Option } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { type HttpApi, HttpApiClient, type HttpApiEndpoint, type HttpApiGroup, HttpApiMiddleware } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"
import { IDEMPOTENCY_KEY_HEADER, Idempotent } from "../api/Idempotency.ts"
import { Authentication, ServiceAuthentication } from "../api/Security.ts"
import { isExpiredToken, makeTokens, read, type RefreshOptions, type Source } from "./Tokens.ts"

export type { RefreshOptions, Source, TokenPair } from "./Tokens.ts"

/**
 * The Core API's client for frontends and workers: `HttpApiClient.make(CoreApi)` with the
 * credentials attached, access tokens refreshed once when they expire, and an Idempotency-Key on
 * every create. Imports only the contract (src/api, src/domain) and effect: it runs in a browser.
 *
 *   const api = await Effect.runPromise(CoreClient.make({ baseUrl, accessToken, refresh }).pipe(
 *     Effect.provide(FetchHttpClient.layer)))
 *   const design = await Effect.runPromise(api.designs.create({ payload }))
 */

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

const isIdempotent = (endpoint: HttpApiEndpoint.Top) => endpoint.middlewares.has(Idempotent as never)

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
