import { randomUUID } from "node:crypto"
import { Cause, Clock, Effect, Exit, type Layer, type Types } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"
import { SqlError } from "effect/sql"
import { genericProblems } from "../api/Problems.ts"
import type { RouteTable } from "./RouteTable.ts"

export const REQUEST_ID_HEADER = "x-request-id"
const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/
const PROBLEM_JSON = "application/problem+json"

/** The client's X-Request-Id when it is safe to echo and log, a fresh UUID otherwise. */
export const requestIdOf = (header: string | undefined): string =>
  header !== undefined && WELL_FORMED_REQUEST_ID.test(header) ? header : randomUUID()

type GenericStatus = keyof typeof genericProblems

const genericProblem = (status: number, requestId: string, detail?: string) => {
  const known = genericProblems[status as GenericStatus] ??
    (status >= 500 ? genericProblems[500] : genericProblems[400])
  return {
    type: "about:blank",
    title: known.title,
    status,
    ...(detail === undefined ? {} : { detail }),
    code: known.code,
    requestId
  }
}

/** A database that cannot be reached is an outage to wait out (503), not a bug (500). */
const isDatabaseUnreachable = (defect: unknown) =>
  SqlError.isSqlError(defect) && (defect.reason._tag === "ConnectionError" || defect.reason._tag === "AuthenticationError")

/** What the server can say about a failure that no endpoint declared, without internals. */
const describeFailure = (cause: Cause.Cause<unknown>): { readonly code?: string; readonly detail: string } | undefined => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Die" && isDatabaseUnreachable(reason.defect)) {
      return { code: "service_unavailable", detail: "The database is unreachable; retry shortly" }
    }
    if (reason._tag !== "Fail" || !HttpServerError.isHttpServerError(reason.error)) continue
    const inner = reason.error.reason
    if (inner._tag === "RequestParseError") return { code: "malformed_body", detail: "The request body could not be parsed" }
    if (inner._tag === "RouteNotFound") return { detail: "No route matches this path" }
  }
  return undefined
}

const withHeaders = (
  from: HttpServerResponse.HttpServerResponse,
  to: HttpServerResponse.HttpServerResponse
): HttpServerResponse.HttpServerResponse => {
  const { "content-type": _type, "content-length": _length, ...kept } = from.headers
  return HttpServerResponse.setHeaders(to, kept)
}

const problemResponse = (body: Record<string, unknown>, status: number) =>
  HttpServerResponse.jsonUnsafe(body, { status, contentType: PROBLEM_JSON })

/**
 * Gives every error response the one problem+json format: typed problems get the request id,
 * empty or non-JSON error bodies (unknown route, 415, framework 4xx/5xx) are replaced by a
 * generic problem for their status. JSON bodies that are not problems (the health report's
 * 503) are left as they are.
 */
const toProblem = (
  response: HttpServerResponse.HttpServerResponse,
  requestId: string,
  failure: { readonly code?: string; readonly detail: string } | undefined
): HttpServerResponse.HttpServerResponse => {
  if (response.status < 400) return response
  const body = response.body
  const contentType = response.headers["content-type"] ?? ("contentType" in body ? body.contentType : "") ?? ""
  if (contentType.startsWith(PROBLEM_JSON) && body._tag === "Uint8Array") {
    const parsed = JSON.parse(new TextDecoder().decode(body.body)) as Record<string, unknown>
    const generic = genericProblem(response.status, requestId)
    const rendered = withHeaders(response, problemResponse({ code: generic.code, ...parsed, requestId }, response.status))
    return typeof parsed["retryAfter"] === "number"
      ? HttpServerResponse.setHeader(rendered, "retry-after", String(parsed["retryAfter"]))
      : rendered
  }
  if (contentType.includes("json") && body._tag === "Uint8Array") return response
  const problem = genericProblem(response.status, requestId, failure?.detail)
  return withHeaders(
    response,
    problemResponse(failure?.code === undefined ? problem : { ...problem, code: failure.code }, response.status)
  )
}

/**
 * The outermost layer of every request, routed or not: request id, one error format,
 * 404 versus 405, defects logged and hidden, and one structured access-log line.
 */
export const layer = (routes: RouteTable): Layer.Layer<never, never, HttpRouter.HttpRouter> =>
  HttpRouter.middleware((app) =>
    // Every failure is turned into a response here; `unhandled` only tells the router's types so.
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const requestId = requestIdOf(request.headers[REQUEST_ID_HEADER])
      return Effect.gen(function*() {
        const startedAt = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(app)
        let response: HttpServerResponse.HttpServerResponse
        let failure: ReturnType<typeof describeFailure>
        if (Exit.isSuccess(exit)) {
          response = exit.value
        } else {
          const [derived] = yield* HttpServerError.causeResponse(exit.cause)
          response = derived
          failure = describeFailure(exit.cause)
          if (failure?.code === "service_unavailable") {
          response = HttpServerResponse.empty({ status: 503, headers: { "retry-after": "5" } })
        } else if (response.status === 404 && failure !== undefined && failure.code === undefined) {
            const allowed = routes.allowedMethods(request.url)
            if (allowed.length > 0) {
              response = HttpServerResponse.empty({ status: 405, headers: { allow: allowed.join(", ") } })
              failure = { detail: `${request.method} is not allowed here; allowed: ${allowed.join(", ")}` }
            }
          }
          if (response.status >= 500 && !Cause.hasInterruptsOnly(exit.cause)) {
            yield* Effect.logError("request failed", exit.cause)
          }
        }
        response = HttpServerResponse.setHeader(toProblem(response, requestId, failure), REQUEST_ID_HEADER, requestId)
        if (response.status === 401 && response.headers["www-authenticate"] === undefined) {
          response = HttpServerResponse.setHeader(response, "www-authenticate", 'Bearer realm="customify"')
        }
        const finishedAt = yield* Clock.currentTimeMillis
        yield* Effect.logInfo("request").pipe(Effect.annotateLogs({
          method: request.method,
          path: request.url.split("?")[0],
          status: response.status,
          durationMs: finishedAt - startedAt
        }))
        return response
      }).pipe(Effect.annotateLogs("requestId", requestId))
    }) as Effect.Effect<HttpServerResponse.HttpServerResponse, Types.unhandled, HttpServerRequest.HttpServerRequest>, {
    global: true
  })
