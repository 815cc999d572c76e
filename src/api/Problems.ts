import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"

/**
 * RFC 9457 problems shared by every endpoint. Each carries a stable snake_case `code` that
 * clients switch on, and the `requestId` of the request (filled in by the server for every
 * problem it sends, whichever code path produced it).
 */
export const problemType = (code: string) => `urn:customify:problem:${code}`

export const requestId = Schema.optionalKey(Schema.String).annotate({
  description: "The X-Request-Id of the request, to quote when reporting the problem"
})

export const FieldError = Schema.Struct({
  path: Schema.String.annotate({ description: "Dotted path of the invalid value, e.g. document.layers.3.opacity" }),
  location: Schema.Literals(["body", "query", "path", "header"]),
  message: Schema.String
}).annotate({ identifier: "FieldError" })
export type FieldError = typeof FieldError.Type

export class ValidationFailed extends HttpApiError.Problem<ValidationFailed>()("ValidationFailed", {
  type: problemType("validation_failed"),
  status: 400,
  title: "Request validation failed"
}, {
  code: Schema.tag("validation_failed"),
  requestId,
  errors: Schema.Array(FieldError)
}) {}

export class InternalError extends HttpApiError.Problem<InternalError>()("InternalError", {
  type: problemType("internal_error"),
  status: 500,
  title: "Internal server error"
}, {
  code: Schema.tag("internal_error"),
  requestId
}) {}

export class ServiceUnavailable extends HttpApiError.Problem<ServiceUnavailable>()("ServiceUnavailable", {
  type: problemType("service_unavailable"),
  status: 503,
  title: "Service unavailable"
}, {
  code: Schema.tag("service_unavailable"),
  requestId
}) {}

/**
 * Problems the server produces outside any endpoint (unknown route, wrong method, body that
 * is not JSON, ...). They share the shape of the typed problems above; the server renders them.
 */
export const genericProblems = {
  400: { code: "bad_request", title: "Bad request" },
  401: { code: "unauthorized", title: "Unauthorized" },
  403: { code: "forbidden", title: "Forbidden" },
  404: { code: "not_found", title: "Not found" },
  405: { code: "method_not_allowed", title: "Method not allowed" },
  406: { code: "not_acceptable", title: "Not acceptable" },
  408: { code: "request_timeout", title: "Request timeout" },
  409: { code: "conflict", title: "Conflict" },
  413: { code: "payload_too_large", title: "Payload too large" },
  415: { code: "unsupported_media_type", title: "Unsupported media type" },
  422: { code: "unprocessable_content", title: "Unprocessable content" },
  429: { code: "rate_limited", title: "Too many requests" },
  500: { code: "internal_error", title: "Internal server error" },
  502: { code: "bad_gateway", title: "Bad gateway" },
  503: { code: "service_unavailable", title: "Service unavailable" },
  504: { code: "gateway_timeout", title: "Gateway timeout" }
} as const satisfies Record<number, { readonly code: string; readonly title: string }>
