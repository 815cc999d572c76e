import { Schema } from "effect"
import { truncatedText } from "../domain/Primitives.ts"
import { genericProblems, MAX_DETAIL_LENGTH, PROBLEM_JSON, REQUEST_ID_PATTERN, requestId } from "./Problems.ts"

/**
 * What the request pipeline (src/http/RequestPipeline.ts, server code) does around every
 * endpoint, stated in the OpenAPI document: the per-address rate limit (its headers and its
 * 429), X-Request-Id and CORS on every response, WWW-Authenticate on every 401. The facts the
 * server and the document share live here.
 */

/** Health, metrics and documentation stay reachable whatever a client's budget. */
export const isRateLimitExempt = (path: string) =>
  path === "/health" || path === "/metrics" || path === "/openapi.json" || path === "/docs" ||
  path === "/redoc" || path.startsWith("/redoc/")

/** What every 401 carries (the pipeline adds it to any 401 that has none). */
export const WWW_AUTHENTICATE = 'Bearer realm="customify"'

/** The 429 the pipeline answers when an address is over RATE_LIMIT_PER_MINUTE (a generic problem). */
export const RateLimited = Schema.Struct({
  type: Schema.Literal("about:blank"),
  title: Schema.Literal(genericProblems[429].title),
  status: Schema.Literal(429),
  detail: Schema.optionalKey(truncatedText(MAX_DETAIL_LENGTH)),
  code: Schema.Literal(genericProblems[429].code),
  requestId
}).annotate({
  identifier: "RateLimited",
  description: "Too many requests from this address (RATE_LIMIT_PER_MINUTE); wait Retry-After seconds"
})

const header = (description: string, schema: Record<string, unknown>, required = false) => ({
  description,
  required,
  schema
})

/** The headers, as OpenAPI header objects (components.headers). */
const headers = {
  "X-Request-Id": header(
    "The caller's X-Request-Id when well-formed (8 to 128 of A-Za-z0-9._:-), a new UUID otherwise; logged with the request",
    { type: "string", pattern: REQUEST_ID_PATTERN.source, maxLength: 128 },
    true
  ),
  "Access-Control-Allow-Origin": header(
    "Only when the request's Origin is listed in CORS_ORIGINS: that origin (with Access-Control-Allow-Credentials)",
    { type: "string", format: "uri", maxLength: 2048 }
  ),
  RateLimit: header(
    "The caller's address's budget left in the window, in requests (r) and seconds until it resets (t), " +
      "e.g. \"ip\";r=99;t=60. Absent when rate limiting is off (RATE_LIMIT_PER_MINUTE=0)",
    { type: "string", pattern: "^\"ip\";r=[0-9]+;t=[0-9]+$", maxLength: 64 }
  ),
  "RateLimit-Policy": header(
    "The limit (q) per window of w seconds, e.g. \"ip\";q=100;w=60. Absent when rate limiting is off",
    { type: "string", pattern: "^\"ip\";q=[0-9]+;w=[0-9]+$", maxLength: 64 }
  ),
  "Retry-After": header(
    "Seconds to wait before trying again",
    { type: "integer", format: "int32", minimum: 0, maximum: 86_400 },
    true
  ),
  "WWW-Authenticate": header(
    "The authentication scheme expected",
    { type: "string", enum: [WWW_AUTHENTICATE] },
    true
  )
} as const

type HeaderName = keyof typeof headers
const ref = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` })

const rateLimitedRef = { $ref: "#/components/schemas/RateLimited" }

type Json = Record<string, any>

/** Adds the 429 to one operation's responses, beside a 429 the endpoint itself declares. */
const addRateLimited = (responses: Json) => {
  const own = responses["429"] as Json | undefined
  if (own === undefined) {
    responses["429"] = {
      description: genericProblems[429].title,
      content: { [PROBLEM_JSON]: { schema: rateLimitedRef } }
    }
    return
  }
  const media = (own["content"] ??= {})[PROBLEM_JSON] ??= {}
  media.schema = media.schema === undefined ? rateLimitedRef : { anyOf: [media.schema, rateLimitedRef] }
  own["description"] = `${own["description"] ?? "Error"} | ${genericProblems[429].title}`
}

/**
 * The OpenAPI transform (annotation of CoreApi): the pipeline's headers and 429 on every
 * operation, Retry-After on every 429 and 503 problem, the headers as components, and the server entry (relative: this document is
 * served by the API it describes).
 */
export const documentGateway = (spec: Json): Json => {
  spec["servers"] = [{
    url: "/",
    description: "The server this document was fetched from (local, staging or production alike)",
    "x-internal": false
  }]
  spec["components"] = { ...spec["components"], headers: { ...spec["components"]?.headers, ...headers } }
  for (const [path, operations] of Object.entries(spec["paths"] as Json)) {
    const limited = !isRateLimitExempt(path)
    for (const operation of Object.values(operations as Json)) {
      const responses = (operation as Json)["responses"] as Json
      if (limited) addRateLimited(responses)
      for (const [status, response] of Object.entries(responses)) {
        const names: Array<HeaderName> = ["X-Request-Id", "Access-Control-Allow-Origin"]
        if (limited) names.push("RateLimit", "RateLimit-Policy")
        // The pipeline gives every 503 problem a Retry-After (an outage, a busy server).
        if (status === "429" || (status === "503" && response.content?.[PROBLEM_JSON] !== undefined)) names.push("Retry-After")
        if (status === "401") names.push("WWW-Authenticate")
        response.headers = { ...response.headers, ...Object.fromEntries(names.map((name) => [name, ref(name)])) }
      }
    }
  }
  return spec
}
