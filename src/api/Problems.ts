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

// ---- Authentication and accounts -------------------------------------------------------------

export class Unauthorized extends HttpApiError.Problem<Unauthorized>()("Unauthorized", {
  type: problemType("unauthorized"),
  status: 401,
  title: "Authentication required"
}, {
  code: Schema.Literals(["unauthorized", "token_expired", "session_revoked"]).annotate({
    description: "unauthorized: no or unacceptable token; token_expired: refresh it; session_revoked: sign in again"
  }),
  requestId
}) {}

export class InvalidCredentials extends HttpApiError.Problem<InvalidCredentials>()("InvalidCredentials", {
  type: problemType("invalid_credentials"),
  status: 401,
  title: "Invalid email or password"
}, { code: Schema.tag("invalid_credentials"), requestId }) {}

export class InvalidRefreshToken extends HttpApiError.Problem<InvalidRefreshToken>()("InvalidRefreshToken", {
  type: problemType("invalid_refresh_token"),
  status: 401,
  title: "Invalid or expired refresh token"
}, { code: Schema.tag("invalid_refresh_token"), requestId }) {}

export class RefreshTokenReused extends HttpApiError.Problem<RefreshTokenReused>()("RefreshTokenReused", {
  type: problemType("refresh_token_reused"),
  status: 401,
  title: "Refresh token already used; the session was ended"
}, { code: Schema.tag("refresh_token_reused"), requestId }) {}

export class AccountDisabled extends HttpApiError.Problem<AccountDisabled>()("AccountDisabled", {
  type: problemType("account_disabled"),
  status: 403,
  title: "This account is disabled"
}, { code: Schema.tag("account_disabled"), requestId }) {}

export class IncorrectPassword extends HttpApiError.Problem<IncorrectPassword>()("IncorrectPassword", {
  type: problemType("incorrect_password"),
  status: 403,
  title: "The current password is incorrect"
}, { code: Schema.tag("incorrect_password"), requestId }) {}

export class Forbidden extends HttpApiError.Problem<Forbidden>()("Forbidden", {
  type: problemType("forbidden"),
  status: 403,
  title: "Not allowed"
}, { code: Schema.tag("forbidden"), requestId }) {}

export class NotFound extends HttpApiError.Problem<NotFound>()("NotFound", {
  type: problemType("not_found"),
  status: 404,
  title: "Not found"
}, { code: Schema.tag("not_found"), requestId }) {}

export class EmailTaken extends HttpApiError.Problem<EmailTaken>()("EmailTaken", {
  type: problemType("email_taken"),
  status: 409,
  title: "An account with this email already exists"
}, { code: Schema.tag("email_taken"), requestId }) {}

export class InvalidResetToken extends HttpApiError.Problem<InvalidResetToken>()("InvalidResetToken", {
  type: problemType("invalid_reset_token"),
  status: 400,
  title: "Invalid, used or expired password reset token"
}, { code: Schema.tag("invalid_reset_token"), requestId }) {}

export class TooManyAttempts extends HttpApiError.Problem<TooManyAttempts>()("TooManyAttempts", {
  type: problemType("too_many_attempts"),
  status: 429,
  title: "Too many failed attempts; try again later"
}, {
  code: Schema.tag("too_many_attempts"),
  requestId,
  retryAfter: Schema.Int.annotate({ description: "Seconds to wait, also sent as Retry-After" })
}) {}

// ---- Designs, quota and subscriptions ---------------------------------------------------------

export class VersionConflict extends HttpApiError.Problem<VersionConflict>()("VersionConflict", {
  type: problemType("version_conflict"),
  status: 409,
  title: "The design changed since you read it"
}, {
  code: Schema.tag("version_conflict"),
  requestId,
  currentVersion: Schema.Int.annotate({ description: "Re-read the design at this version, merge, and retry" })
}) {}

export class QuotaExceeded extends HttpApiError.Problem<QuotaExceeded>()("QuotaExceeded", {
  type: problemType("quota_exceeded"),
  status: 402,
  title: "Monthly design quota exceeded"
}, {
  code: Schema.tag("quota_exceeded"),
  requestId,
  limit: Schema.Int,
  used: Schema.Int,
  resetsAt: Schema.String.annotate({ description: "When the next month's quota starts (UTC)" })
}) {}

export class SubscriptionInactive extends HttpApiError.Problem<SubscriptionInactive>()("SubscriptionInactive", {
  type: problemType("subscription_inactive"),
  status: 402,
  title: "The subscription is not active"
}, {
  code: Schema.tag("subscription_inactive"),
  requestId,
  subscriptionStatus: Schema.String
}) {}
