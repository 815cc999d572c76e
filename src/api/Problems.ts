import { Effect, Schema, SchemaTransformation } from "effect"
import { HttpApiError } from "effect/http-api"
import { SubscriptionStatus } from "../domain/Subscription.ts"
import { Int32, matching, Timestamp, truncatedText } from "../domain/Primitives.ts"

/**
 * RFC 9457 problems shared by every endpoint. Each carries a stable snake_case `code` that
 * clients switch on, and the `requestId` of the request (filled in by the server for every
 * problem it sends, whichever code path produced it).
 */
export const problemType = (code: string) => `urn:customify:problem:${code}`

/** The media type of every error response (RFC 9457). */
export const PROBLEM_JSON = "application/problem+json"

/** What the server accepts as a caller's X-Request-Id (else it makes a UUID, which also fits). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{8,128}$/u

export const requestId = Schema.optionalKey(matching(REQUEST_ID_PATTERN, 128)).annotate({
  description: "The X-Request-Id of the request, to quote when reporting the problem"
})

/** A problem's `detail` is at most this long on the wire (a longer text is cut, never refused). */
export const MAX_DETAIL_LENGTH = 500

/** Like RFC 9457 asks of a reader: a member with an unusable value is ignored, not an error. */
const lenient = <S extends Schema.Top>(schema: S) =>
  Schema.optionalKey(schema).pipe(Schema.catchDecoding(() => Effect.succeedNone))

/**
 * The members every problem here carries besides `type`, `status`, `title` and `code`: the
 * standard `detail` and `instance` (bounded, replacing the unbounded defaults) and `requestId`.
 */
export const problemMembers = {
  detail: lenient(truncatedText(MAX_DETAIL_LENGTH, "A human-readable explanation of this occurrence; not for programs")),
  instance: lenient(Schema.String.annotate({ format: "uri-reference" }).check(Schema.isMaxLength(2048))),
  requestId
}

/** At most this many entries in a `validation_failed` problem's `errors`: the first ones found. */
export const MAX_FIELD_ERRORS = 100

export const FieldError = Schema.Struct({
  path: truncatedText(500, "Dotted path of the invalid value, e.g. document.layers.3.opacity"),
  location: Schema.Literals(["body", "query", "path", "header"]),
  message: truncatedText(500)
}).annotate({ identifier: "FieldError" })
export type FieldError = typeof FieldError.Type

/** Every invalid field on the way in; on the wire, the first MAX_FIELD_ERRORS of them. */
const FieldErrors = Schema.Array(FieldError).annotate({
  description: `Every invalid field, in order; at most the first ${MAX_FIELD_ERRORS}`
}).check(Schema.isMaxLength(MAX_FIELD_ERRORS)).pipe(
  Schema.decodeTo(
    Schema.Array(Schema.toType(FieldError)),
    SchemaTransformation.transform({
      decode: (errors: ReadonlyArray<FieldError>) => errors,
      encode: (errors: ReadonlyArray<FieldError>): ReadonlyArray<FieldError> => errors.slice(0, MAX_FIELD_ERRORS)
    })
  )
)

export class ValidationFailed extends HttpApiError.Problem<ValidationFailed>()("ValidationFailed", {
  type: problemType("validation_failed"),
  status: 400,
  title: "Request validation failed"
}, {
  code: Schema.tag("validation_failed"),
  ...problemMembers,
  errors: FieldErrors
}) {}

/**
 * A `cursor` that no page of this list answered (forged, truncated, re-encoded, from another
 * list): start again from the first page. Pass back `nextCursor` exactly as it was answered.
 */
export class InvalidCursor extends HttpApiError.Problem<InvalidCursor>()("InvalidCursor", {
  type: problemType("invalid_cursor"),
  status: 400,
  title: "Invalid pagination cursor"
}, {
  code: Schema.tag("invalid_cursor"),
  ...problemMembers
}) {}

export class InternalError extends HttpApiError.Problem<InternalError>()("InternalError", {
  type: problemType("internal_error"),
  status: 500,
  title: "Internal server error"
}, {
  code: Schema.tag("internal_error"),
  ...problemMembers
}) {}

export class ServiceUnavailable extends HttpApiError.Problem<ServiceUnavailable>()("ServiceUnavailable", {
  type: problemType("service_unavailable"),
  status: 503,
  title: "Service unavailable"
}, {
  code: Schema.tag("service_unavailable"),
  ...problemMembers
}) {}

/**
 * Too much work of one kind (password hashing) is running and queued already: refused at once
 * rather than queued past the request timeout. Like every 503 problem it carries Retry-After
 * (set by the server); retry then.
 */
export class Busy extends HttpApiError.Problem<Busy>()("Busy", {
  type: problemType("busy"),
  status: 503,
  title: "The server is busy; retry shortly"
}, {
  code: Schema.tag("busy"),
  ...problemMembers
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
  414: { code: "uri_too_long", title: "URI too long" },
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
  ...problemMembers
}) {}

export class InvalidCredentials extends HttpApiError.Problem<InvalidCredentials>()("InvalidCredentials", {
  type: problemType("invalid_credentials"),
  status: 401,
  title: "Invalid email or password"
}, { code: Schema.tag("invalid_credentials"), ...problemMembers }) {}

export class InvalidRefreshToken extends HttpApiError.Problem<InvalidRefreshToken>()("InvalidRefreshToken", {
  type: problemType("invalid_refresh_token"),
  status: 401,
  title: "Invalid or expired refresh token"
}, { code: Schema.tag("invalid_refresh_token"), ...problemMembers }) {}

export class RefreshTokenReused extends HttpApiError.Problem<RefreshTokenReused>()("RefreshTokenReused", {
  type: problemType("refresh_token_reused"),
  status: 401,
  title: "Refresh token already used; the session was ended"
}, { code: Schema.tag("refresh_token_reused"), ...problemMembers }) {}

export class AccountDisabled extends HttpApiError.Problem<AccountDisabled>()("AccountDisabled", {
  type: problemType("account_disabled"),
  status: 403,
  title: "This account is disabled"
}, { code: Schema.tag("account_disabled"), ...problemMembers }) {}

export class IncorrectPassword extends HttpApiError.Problem<IncorrectPassword>()("IncorrectPassword", {
  type: problemType("incorrect_password"),
  status: 403,
  title: "The current password is incorrect"
}, { code: Schema.tag("incorrect_password"), ...problemMembers }) {}

export class Forbidden extends HttpApiError.Problem<Forbidden>()("Forbidden", {
  type: problemType("forbidden"),
  status: 403,
  title: "Not allowed"
}, { code: Schema.tag("forbidden"), ...problemMembers }) {}

export class NotFound extends HttpApiError.Problem<NotFound>()("NotFound", {
  type: problemType("not_found"),
  status: 404,
  title: "Not found"
}, { code: Schema.tag("not_found"), ...problemMembers }) {}

export class EmailTaken extends HttpApiError.Problem<EmailTaken>()("EmailTaken", {
  type: problemType("email_taken"),
  status: 409,
  title: "An account with this email already exists"
}, { code: Schema.tag("email_taken"), ...problemMembers }) {}

export class InvalidResetToken extends HttpApiError.Problem<InvalidResetToken>()("InvalidResetToken", {
  type: problemType("invalid_reset_token"),
  status: 400,
  title: "Invalid, used or expired password reset token"
}, { code: Schema.tag("invalid_reset_token"), ...problemMembers }) {}

export class TooManyAttempts extends HttpApiError.Problem<TooManyAttempts>()("TooManyAttempts", {
  type: problemType("too_many_attempts"),
  status: 429,
  title: "Too many failed attempts; try again later"
}, {
  code: Schema.tag("too_many_attempts"),
  ...problemMembers,
  retryAfter: Int32.annotate({ description: "Seconds to wait, also sent as Retry-After" })
}) {}

// ---- Designs, quota and subscriptions ---------------------------------------------------------

export class VersionConflict extends HttpApiError.Problem<VersionConflict>()("VersionConflict", {
  type: problemType("version_conflict"),
  status: 409,
  title: "The design changed since you read it"
}, {
  code: Schema.tag("version_conflict"),
  ...problemMembers,
  currentVersion: Int32.annotate({ description: "Re-read the design at this version, merge, and retry" })
}) {}

export class QuotaExceeded extends HttpApiError.Problem<QuotaExceeded>()("QuotaExceeded", {
  type: problemType("quota_exceeded"),
  status: 402,
  title: "Monthly design quota exceeded"
}, {
  code: Schema.tag("quota_exceeded"),
  ...problemMembers,
  limit: Int32,
  used: Int32,
  resetsAt: Timestamp.annotate({ description: "When the next month's quota starts (UTC)" })
}) {}

export class SubscriptionInactive extends HttpApiError.Problem<SubscriptionInactive>()("SubscriptionInactive", {
  type: problemType("subscription_inactive"),
  status: 402,
  title: "The subscription is not active"
}, {
  code: Schema.tag("subscription_inactive"),
  ...problemMembers,
  subscriptionStatus: Schema.Literals([...SubscriptionStatus.literals, "none"]).annotate({
    description: "none: the account has no subscription"
  })
}) {}
