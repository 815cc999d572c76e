import { Cause, Context, Effect, Exit, Tracer } from "effect"
import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "effect/http"
import { HttpApi, type HttpApiClient, type HttpApiGroup } from "effect/http-api"
import { expect } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"
import * as ClientPackage from "../../src/client/CoreClient.ts"

/**
 * Typed clients for the HTTP suites: `HttpApiClient.make(CoreApi)` over a test app's fetch
 * handler (no port), so a request or a response that drifts from the contract fails to compile
 * or to decode. Raw requests (`client` in ./http.ts) are left for what a typed client cannot
 * send: malformed bodies, odd headers and methods, values the schemas refuse client-side.
 *
 *   const api = typedClient(() => app)                    // api(token), api({ serviceKey }), api()
 *   const design = await ok(api(token).designs.create({ payload }), 201)
 *   const missing = await failure(api(token).designs.get({ params: { id } }), "NotFound")
 *   const outcome = await attempt(api({ serviceKey }).internal.upsertOrder({ ... }))
 *   await failsWithProblem(call, "AiRateLimited", 429, "ai_rate_limited")
 *
 * The client decodes only the statuses an endpoint declares: a decoded success had one of its
 * success statuses, and a problem class its own status (checked against the response too). Each
 * call's last exchange (status, headers, raw body) stays available through `attempt`, for what
 * the decoded values do not show.
 */

/** What `makeTestApp` returns, or any other fetch-style handler. */
export interface WebHandler {
  readonly handler: (request: Request) => Promise<Response>
}

/**
 * Who is calling. A caller sends every credential it holds to every protected endpoint, the
 * bearer token and the service key alike (the client side of `Authentication` and
 * `ServiceAuthentication` both attach them), so that a test can present a user's token to an
 * internal route or a service key to a user route. Public endpoints get neither.
 */
export interface Caller {
  /** `Authorization: Bearer <token>` */
  readonly token?: string
  /** `X-Service-Key: <key>` */
  readonly serviceKey?: string
  /** Sent with every request, e.g. `x-forwarded-for` or `x-request-id`. */
  readonly headers?: Readonly<Record<string, string>>
}

/** One request and its response as they crossed the handler, the body already read. */
export interface Exchange {
  readonly method: string
  /** Path and query. */
  readonly path: string
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** From handing the request over to having read the whole response. */
  readonly ms: number
}

export interface TypedClientOptions {
  /** Where requests claim to go (their URL and Host); default http://test. */
  readonly baseUrl?: string
  /** Called with every exchange of every client of this app (e.g. to scan all bodies for secrets). */
  readonly onExchange?: (exchange: Exchange) => void
}

/** The exchanges of the effect being run by `attempt`, the last one last. */
class Exchanges extends Context.Service<Exchanges, Array<Exchange>>()("test/support/typedClient/Exchanges") {}

/** Statuses whose responses must not have a body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** An `HttpClient` whose requests go to `app().handler`; it records each exchange. */
export const handlerHttpClient = (app: () => WebHandler, options: TypedClientOptions = {}): HttpClient.HttpClient =>
  HttpClient.make((request, url, signal, fiber) =>
    Effect.tryPromise({
      try: async () => {
        const init: RequestInit = { method: request.method, headers: request.headers as Record<string, string>, signal }
        switch (request.body._tag) {
          case "Empty":
            break
          case "Uint8Array":
            init.body = request.body.body as Uint8Array<ArrayBuffer>
            break
          case "Raw":
            init.body = request.body.body as NonNullable<RequestInit["body"]>
            break
          default:
            throw new Error(`typedClient: ${request.body._tag} request bodies are not supported`)
        }
        const started = performance.now()
        const response = await app().handler(new Request(url, init))
        const bytes = new Uint8Array(await response.arrayBuffer())
        const ms = performance.now() - started
        const exchange: Exchange = {
          method: request.method,
          path: `${url.pathname}${url.search}`,
          status: response.status,
          headers: response.headers,
          text: new TextDecoder().decode(bytes),
          ms
        }
        options.onExchange?.(exchange)
        Context.getOrUndefined(fiber.context, Exchanges)?.push(exchange)
        const body = NULL_BODY_STATUSES.has(response.status) ? null : bytes
        return HttpClientResponse.fromWeb(
          request,
          new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
        )
      },
      catch: (cause) => new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause }) })
    })
  )

/** The client package's options for one caller: its credentials, sent to every protected endpoint. */
const clientOptions = (caller: Caller, baseUrl: string): ClientPackage.CoreClientOptions => ({
  baseUrl,
  ...(caller.token === undefined ? {} : { accessToken: Effect.succeed(caller.token) }),
  ...(caller.serviceKey === undefined ? {} : { serviceKey: Effect.succeed(caller.serviceKey) }),
  sendEveryCredential: true
})

/**
 * Typed clients of `api` over the app's handler, one per caller: `clients(token)`,
 * `clients({ serviceKey })`, `clients()` for an anonymous caller. Clients are cached per caller.
 * They are the client package's (src/client): an Idempotency-Key on every create, the
 * credentials attached by its middlewares; a caller's `headers` are set last, so a test may send
 * its own Idempotency-Key.
 */
export const typedClientFor = <Id extends string, Groups extends HttpApiGroup.Constraint>(
  api: HttpApi.HttpApi<Id, Groups>,
  app: () => WebHandler,
  options: TypedClientOptions = {}
) => {
  const transport = handlerHttpClient(app, options)
  // Success bodies decode strictly: a member the contract does not declare fails the call, so
  // comparing decoded values is as exact as comparing the JSON sent (errors decode as declared).
  const strictApi = api.annotate(HttpApi.SuccessParseOptions, { errors: "all", onExcessProperty: "error" })
  const cache = new Map<string, HttpApiClient.Client<Groups>>()
  return (caller: string | Caller = {}): HttpApiClient.Client<Groups> => {
    const who: Caller = typeof caller === "string" ? { token: caller } : caller
    const key = JSON.stringify([who.token, who.serviceKey, who.headers])
    const cached = cache.get(key)
    if (cached !== undefined) return cached
    const headers = who.headers
    const httpClient = headers === undefined ? transport : HttpClient.mapRequest(transport, HttpClientRequest.setHeaders(headers))
    const made = Effect.runSync(
      ClientPackage.makeFor(strictApi, clientOptions(who, options.baseUrl ?? "http://test")).pipe(
        Effect.provideService(HttpClient.HttpClient, httpClient)
      )
    )
    cache.set(key, made)
    return made
  }
}

/** Typed clients of the Core API over a test app (see `typedClientFor`). */
export const typedClient = (app: () => WebHandler, options: TypedClientOptions = {}) => typedClientFor(CoreApi, app, options)

export type CoreClient = ReturnType<ReturnType<typeof typedClient>>

// ---- Running calls from async tests -----------------------------------------------------------

/** The outcome of a call, with the last response it got (undefined: nothing was sent). */
export type Outcome<A, E> =
  | { readonly _tag: "Success"; readonly value: A; readonly status: number | undefined; readonly response: Exchange | undefined }
  | { readonly _tag: "Failure"; readonly error: E; readonly status: number | undefined; readonly response: Exchange | undefined }

const describeCause = (cause: Cause.Cause<unknown>) => {
  const error = Cause.findErrorOption(cause)
  const detail = error._tag === "Some" ? `: ${safeJson(error.value)}` : ""
  return `${Cause.pretty(cause)}${detail}`
}

const safeJson = (value: unknown) => {
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

/** Runs a call, recording its exchanges (no trace headers: the requests stay as a test wrote them). */
const run = async <A, E>(effect: Effect.Effect<A, E>) => {
  const exchanges: Array<Exchange> = []
  const exit = await Effect.runPromiseExit(
    effect.pipe(Effect.provideService(Exchanges, exchanges), Effect.provideService(Tracer.DisablePropagation, true))
  )
  return { exit, response: exchanges.at(-1) }
}

/** Runs a call; a defect or an interruption is thrown, a failure is an outcome. */
export const attempt = async <A, E>(effect: Effect.Effect<A, E>): Promise<Outcome<A, E>> => {
  const { exit, response } = await run(effect)
  const status = response?.status
  if (Exit.isSuccess(exit)) return { _tag: "Success", value: exit.value, status, response }
  const error = Cause.findErrorOption(exit.cause)
  if (error._tag === "None") throw new Error(`call died or was interrupted: ${Cause.pretty(exit.cause)}`)
  return { _tag: "Failure", error: error.value, status, response }
}

/**
 * Runs a call that must succeed and answers its decoded value. A decoded success already had a
 * status the endpoint declares; `status` pins it where an endpoint declares several (or to say
 * it in the test).
 */
export const ok = async <A, E>(effect: Effect.Effect<A, E>, status?: number): Promise<A> => {
  const { exit, response } = await run(effect)
  if (Exit.isFailure(exit)) throw new Error(`expected the call to succeed, it failed with ${describeCause(exit.cause)}`)
  if (status !== undefined) expect(response?.status, "HTTP status").toBe(status)
  return exit.value
}

export type Tag<E> = E extends { readonly _tag: infer T extends string } ? T : never

/**
 * Runs a call that must fail and answers its typed error; given a tag (e.g. "NotFound", the
 * problem class), the error must be of that class and is narrowed to it. A problem's `status`
 * must also be the response's.
 */
export async function failure<A, E>(effect: Effect.Effect<A, E>): Promise<E>
export async function failure<A, E, T extends Tag<E>>(effect: Effect.Effect<A, E>, tag: T): Promise<Extract<E, { readonly _tag: T }>>
export async function failure<A, E>(effect: Effect.Effect<A, E>, tag?: string): Promise<E> {
  return (await failureAndResponse(effect, tag as Tag<E>)).error
}

/** `failure`, with the response that carried the error (for its headers or its exact body). */
export async function failureAndResponse<A, E, T extends Tag<E>>(
  effect: Effect.Effect<A, E>,
  tag?: T
): Promise<{ readonly error: Extract<E, { readonly _tag: T }>; readonly response: Exchange | undefined }> {
  const outcome = await attempt(effect)
  if (outcome._tag === "Success") throw new Error(`expected the call to fail${tag === undefined ? "" : ` with ${tag}`}, it succeeded: ${safeJson(outcome.value)}`)
  const error = outcome.error as { readonly _tag?: unknown; readonly status?: unknown }
  if (tag !== undefined) expect(error._tag, `expected ${tag}, got ${safeJson(error)} (${String(error)})`).toBe(tag)
  // A problem's `status` is its class's; the response must have had that status too.
  if (typeof error.status === "number") expect(outcome.status, "HTTP status").toBe(error.status)
  return { error: outcome.error as Extract<E, { readonly _tag: T }>, response: outcome.response }
}

/**
 * Runs a call that must fail with a problem of class `tag`, sent as application/problem+json with
 * this status and code and quoting the response's X-Request-Id; answers the error and the response.
 */
export const failsWithProblem = async <A, E, T extends Tag<E>>(effect: Effect.Effect<A, E>, tag: T, status: number, code: string) => {
  const { error, response } = await failureAndResponse(effect, tag)
  if (response === undefined) throw new Error(`${tag}: no request was sent`)
  expect(response.status).toBe(status)
  expect(response.headers.get("content-type")).toContain("application/problem+json")
  expect(error).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String) })
  expect((error as { readonly requestId?: string }).requestId).toBe(response.headers.get("x-request-id"))
  return { error, response }
}

/** A problem's members as sent, without the per-request `requestId` (two calls never share it). */
export const problemBody = (exchange: Exchange | undefined): unknown => {
  if (exchange === undefined) return undefined
  const { requestId: _ignored, ...rest } = JSON.parse(exchange.text) as Record<string, unknown>
  return rest
}
