import { Duration } from "effect"

const PREFLIGHT_CACHE = Duration.hours(2)
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
const ALLOWED_HEADERS = "authorization, content-type, if-match, if-none-match, idempotency-key, x-request-id"
const EXPOSED_HEADERS = "x-request-id, ratelimit, ratelimit-policy, retry-after, etag, idempotent-replayed"

/**
 * CORS for an allow-list of origins (CORS_ORIGINS): only a listed origin gets allow headers, and
 * only it may send credentials. Responses vary on Origin so caches never mix origins.
 */
export const make = (allowedOrigins: ReadonlyArray<string>) => {
  const allowed = new Set(allowedOrigins)
  const isAllowed = (origin: string | undefined): origin is string => origin !== undefined && allowed.has(origin)
  return {
    isPreflight: (method: string, headers: Record<string, string | undefined>) =>
      method === "OPTIONS" && headers["origin"] !== undefined && headers["access-control-request-method"] !== undefined,
    /** Headers for a preflight answer (204): empty of allow headers for an unlisted origin. */
    preflight: (origin: string | undefined): Record<string, string> =>
      isAllowed(origin)
        ? {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": ALLOWED_METHODS,
          "access-control-allow-headers": ALLOWED_HEADERS,
          "access-control-allow-credentials": "true",
          "access-control-max-age": String(Duration.toSeconds(PREFLIGHT_CACHE)),
          vary: "Origin"
        }
        : { vary: "Origin" },
    /** Headers for an actual response. */
    response: (origin: string | undefined): Record<string, string> =>
      isAllowed(origin)
        ? {
          "access-control-allow-origin": origin,
          "access-control-allow-credentials": "true",
          "access-control-expose-headers": EXPOSED_HEADERS,
          vary: "Origin"
        }
        : { vary: "Origin" }
  }
}
