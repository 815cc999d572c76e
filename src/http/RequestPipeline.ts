import { randomUUID } from "node:crypto"
import { ByteSize, Cause, Clock, Duration, Effect, Exit, type Layer, LogLevel, type Types } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import type { RateLimiter } from "effect/persistence"
import { WWW_AUTHENTICATE } from "../api/Gateway.ts"
import { genericProblems, PROBLEM_JSON, REQUEST_ID_PATTERN } from "../api/Problems.ts"
import { AppConfig } from "../config/AppConfig.ts"
import { recordRequest } from "./Metrics.ts"
import { ClientIp } from "./ClientIp.ts"
import * as Cors from "./Cors.ts"
import * as Docs from "./Docs.ts"
import { problemResponse } from "./ProblemResponse.ts"
import * as RateLimit from "./RateLimit.ts"
import { RequestLog } from "./RequestLog.ts"
import type { RouteTable } from "./RouteTable.ts"
import * as SecurityHeaders from "./SecurityHeaders.ts"

export const REQUEST_ID_HEADER = "x-request-id"
const MAX_URL_LENGTH = 8 * 1024
const OUTAGE_RETRY_AFTER_SECONDS = "5"

/** The client's X-Request-Id when it is safe to echo and log, a fresh UUID otherwise. */
export const requestIdOf = (header: string | undefined): string =>
  header !== undefined && REQUEST_ID_PATTERN.test(header) ? header : randomUUID()

type GenericStatus = keyof typeof genericProblems

interface FailureNote {
  /** No route matched: logged and counted as "unmatched", never under the raw path. */
  readonly unmatched?: boolean
  readonly status?: number
  readonly code?: string
  readonly detail: string
}

const genericProblem = (status: number, requestId: string, note?: FailureNote) => {
  const known = genericProblems[status as GenericStatus] ??
    (status >= 500 ? genericProblems[500] : genericProblems[400])
  return {
    type: "about:blank",
    title: known.title,
    status,
    ...(note === undefined ? {} : { detail: note.detail }),
    code: note?.code ?? known.code,
    requestId
  }
}

/** What the server can say about a failure that no endpoint declared, without internals. */
const describeFailure = (cause: Cause.Cause<unknown>): FailureNote | undefined => {
  for (const reason of cause.reasons) {
    const error = reason._tag === "Fail" ? reason.error : reason._tag === "Die" ? reason.defect : undefined
    if (!HttpServerError.isHttpServerError(error)) continue
    const inner = error.reason
    if (inner._tag === "RequestParseError") {
      return inner.reason === "BodyTooLarge"
        ? { status: 413, code: "payload_too_large", detail: "The request body is too large" }
        : { code: "malformed_body", detail: "The request body could not be read" }
    }
    if (inner._tag === "RouteNotFound") return { detail: "No route matches this path", unmatched: true }
  }
  return undefined
}

const withHeaders = (from: HttpServerResponse.HttpServerResponse, to: HttpServerResponse.HttpServerResponse) => {
  const { "content-type": _type, "content-length": _length, ...kept } = from.headers
  return HttpServerResponse.setHeaders(to, kept)
}


/**
 * Gives every error response the one problem+json format: typed problems get the request id,
 * empty or non-JSON error bodies (unknown route, 415, framework 4xx/5xx) are replaced by a
 * generic problem for their status. JSON bodies that are not problems (the health report's
 * 503) are left as they are.
 */
const toProblem = (
  response: HttpServerResponse.HttpServerResponse,
  requestId: string,
  note: FailureNote | undefined
): HttpServerResponse.HttpServerResponse => {
  if (response.status < 400) return response
  const body = response.body
  const contentType = response.headers["content-type"] ?? ("contentType" in body ? body.contentType : "") ?? ""
  if (contentType.startsWith(PROBLEM_JSON) && body._tag === "Uint8Array") {
    const parsed = JSON.parse(new TextDecoder().decode(body.body)) as Record<string, unknown>
    const generic = genericProblem(response.status, requestId)
    const rendered = withHeaders(
      response,
      problemResponse({ type: generic.type, title: generic.title, code: generic.code, ...parsed, status: response.status, requestId })
    )
    if (typeof parsed["retryAfter"] === "number") {
      return HttpServerResponse.setHeader(rendered, "retry-after", String(parsed["retryAfter"]))
    }
    // An outage (a backing service out) is waited out: say when to come back.
    return response.status === 503 && rendered.headers["retry-after"] === undefined
      ? HttpServerResponse.setHeader(rendered, "retry-after", OUTAGE_RETRY_AFTER_SECONDS)
      : rendered
  }
  if (contentType.includes("json") && body._tag === "Uint8Array") return response
  return withHeaders(response, problemResponse(genericProblem(response.status, requestId, note)))
}

const problem = (status: number, code: string, detail: string, headers: Record<string, string> = {}) => ({
  response: HttpServerResponse.empty({ status, headers }),
  note: { status, code, detail } as FailureNote
})

/**
 * The outermost layer of every request, routed or not, in this order: request id and access
 * log; security headers; CORS (preflights answered here); URL, body and time limits; the rate
 * limit; then routing. Failures and defects become problem+json (defects logged, never shown),
 * 404 is told from 405, and each request is counted under its route template.
 */
export const layer = (
  routes: RouteTable
): Layer.Layer<never, never, HttpRouter.HttpRouter | AppConfig | ClientIp | RateLimiter.RateLimiterStore> =>
  HttpRouter.middleware(Effect.gen(function*() {
    const config = yield* AppConfig
    const clientIp = yield* ClientIp
    const rateLimit = yield* RateLimit.make
    const cors = Cors.make(config.corsOrigins)
    const maxBody = ByteSize.toNumberUnsafe(config.maxBodySize)

    return (app: Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled, never>) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const requestId = requestIdOf(request.headers[REQUEST_ID_HEADER])
        const path = request.url.split("?")[0] ?? request.url
        const log = { route: undefined as string | undefined, userId: undefined as string | undefined }

        /** Limits, then the rate limit, then the app: a response or a problem to render. */
        const guarded = Effect.gen(function*() {
          if (request.url.length > MAX_URL_LENGTH) return problem(414, "uri_too_long", `URLs are limited to ${MAX_URL_LENGTH} bytes`)
          // Uploads to the local store stream to disk under their own, larger, signed limit.
          const isUpload = path.startsWith("/uploads/")
          const declared = Number(request.headers["content-length"] ?? "0")
          if (!isUpload && declared > maxBody) return problem(413, "payload_too_large", `Bodies are limited to ${maxBody} bytes`)
          let limitHeaders: Record<string, string> = {}
          if (rateLimit !== undefined && !RateLimit.isExempt(path)) {
            const decision = yield* rateLimit(clientIp(request))
            if (decision._tag === "Limited") {
              return problem(429, "rate_limited", "Too many requests from this address; slow down", {
                ...decision.headers,
                "retry-after": String(decision.retryAfterSeconds)
              })
            }
            limitHeaders = decision.headers
          }
          const exit = yield* app.pipe(
            Effect.provideService(RequestLog, log),
            Effect.provideService(HttpServerRequest.MaxBodySize, config.maxBodySize),
            Effect.map((response) => ({ response, note: undefined as FailureNote | undefined })),
            Effect.timeoutOrElse({
              duration: isUpload ? Duration.times(config.requestTimeout, 10) : config.requestTimeout,
              orElse: () =>
                Effect.succeed(problem(503, "request_timeout", "The request took too long; retry shortly", { "retry-after": OUTAGE_RETRY_AFTER_SECONDS }))
            }),
            Effect.exit
          )
          if (Exit.isSuccess(exit)) {
            return { response: HttpServerResponse.setHeaders(exit.value.response, limitHeaders), note: exit.value.note }
          }
          const [derived] = yield* HttpServerError.causeResponse(exit.cause)
          let response = derived
          let note = describeFailure(exit.cause)
          if (note?.status !== undefined) {
            response = HttpServerResponse.empty({ status: note.status })
          } else if (response.status === 404 && note !== undefined) {
            const allowed = routes.allowedMethods(request.url)
            if (allowed.length > 0) {
              response = HttpServerResponse.empty({ status: 405, headers: { allow: allowed.join(", ") } })
              note = { detail: `${request.method} is not allowed here; allowed: ${allowed.join(", ")}` }
            }
          }
          if (response.status >= 500 && !Cause.hasInterruptsOnly(exit.cause)) {
            yield* Effect.logError("request failed", exit.cause)
          }
          return { response: HttpServerResponse.setHeaders(response, limitHeaders), note }
        })

        return Effect.gen(function*() {
          const startedAt = yield* Clock.currentTimeNanos
          const { note, response: raw } = cors.isPreflight(request.method, request.headers)
            ? { response: HttpServerResponse.empty({ status: 204, headers: cors.preflight(request.headers["origin"]) }), note: undefined }
            : yield* guarded
          let response = toProblem(raw, requestId, note)
          response = HttpServerResponse.setHeaders(response, {
            ...SecurityHeaders.baseHeaders,
            // A route that set its own policy (a served upload) keeps it.
            ...(response.headers["content-security-policy"] === undefined
              ? {}
              : { "content-security-policy": response.headers["content-security-policy"] }),
            // Uploaded images are shown by the widget on merchants' sites.
            ...(path.startsWith("/uploads/") ? { "cross-origin-resource-policy": "cross-origin" } : {}),
            ...cors.response(request.headers["origin"]),
            [REQUEST_ID_HEADER]: requestId
          })
          if ((response.headers["content-type"] ?? "").startsWith("text/html") && response.body._tag === "Uint8Array") {
            response = HttpServerResponse.setHeader(response, "content-security-policy", Docs.contentSecurityPolicyOf(response.body.body))
          }
          if (request.headers["x-forwarded-proto"] === "https") {
            response = HttpServerResponse.setHeader(response, "strict-transport-security", SecurityHeaders.HSTS)
          }
          if (response.status === 401 && response.headers["www-authenticate"] === undefined) {
            response = HttpServerResponse.setHeader(response, "www-authenticate", WWW_AUTHENTICATE)
          }
          const seconds = Number((yield* Clock.currentTimeNanos) - startedAt) / 1e9
          // Never the raw path (a label per path would grow without bound): the template of a
          // route outside the HttpApi (docs, uploads) or of one refused before routing (413, 429).
          const route = log.route ?? routes.templateOf(request.method, path) ??
            (path === "/metrics" ? path : note?.unmatched === true ? "unmatched" : "unrouted")
          yield* recordRequest({ route, method: request.method, status: response.status }, seconds)
          // Below LOG_LEVEL (production runs at Warn), not even the entry's annotations are built.
          if (!(yield* LogLevel.isEnabled("Info"))) return response
          yield* Effect.logInfo("request").pipe(Effect.annotateLogs({
            method: request.method,
            route,
            status: response.status,
            durationMs: Math.round(seconds * 1000),
            ...(log.userId === undefined ? {} : { userId: log.userId })
          }))
          return response
        }).pipe(Effect.annotateLogs("requestId", requestId))
      }) as Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled, HttpServerRequest.HttpServerRequest>
  }), { global: true })
