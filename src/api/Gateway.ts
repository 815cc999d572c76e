import { Schema } from "effect"
import { INTEGER_PARAMETER_KEYWORD, truncatedText } from "../domain/Primitives.ts"
import { genericProblems, MAX_DETAIL_LENGTH, PROBLEM_JSON, problemType, REQUEST_ID_PATTERN, requestId } from "./Problems.ts"

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

/**
 * A problem the pipeline answers itself, outside any endpoint: the same members, `type` and
 * `code` as the typed problems (one `type` per `code`, wherever it is raised).
 */
const gatewayProblem = (identifier: string, status: GatewayStatus, code: string, description: string) =>
  Schema.Struct({
    type: Schema.Literal(problemType(code)),
    title: Schema.Literal(genericProblems[status].title),
    status: Schema.Literal(status),
    detail: Schema.optionalKey(truncatedText(MAX_DETAIL_LENGTH)),
    code: Schema.Literal(code),
    requestId
  }).annotate({ identifier, description })

type GatewayStatus = 400 | 404 | 405 | 413 | 414 | 415 | 429 | 503

/** The 429 the pipeline answers when an address is over RATE_LIMIT_PER_MINUTE. */
export const RateLimited = gatewayProblem(
  "RateLimited",
  429,
  genericProblems[429].code,
  "Too many requests from this address (RATE_LIMIT_PER_MINUTE); wait Retry-After seconds"
)

/** What the pipeline answers around every endpoint, keyed by status (see `documentGateway`). */
export const gatewayProblems = {
  RouteNotFound: gatewayProblem("RouteNotFound", 404, "not_found", "No route matches this path"),
  MethodNotAllowed: gatewayProblem("MethodNotAllowed", 405, "method_not_allowed", "The path exists, not with this method; Allow lists its methods"),
  PayloadTooLarge: gatewayProblem("PayloadTooLarge", 413, "payload_too_large", "The body is over MAX_BODY_SIZE"),
  UriTooLong: gatewayProblem("UriTooLong", 414, "uri_too_long", "The URL is over 8 KiB"),
  UnsupportedMediaType: gatewayProblem("UnsupportedMediaType", 415, "unsupported_media_type", "The body's Content-Type is not application/json"),
  RequestTimeout: gatewayProblem("RequestTimeout", 503, "request_timeout", "The request took longer than REQUEST_TIMEOUT; retry after Retry-After seconds"),
  MalformedBody: gatewayProblem("MalformedBody", 400, "malformed_body", "The request body could not be read"),
  RateLimited
}

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
  Allow: header(
    "The methods this path answers to",
    { type: "string", pattern: "^[A-Z]+(, [A-Z]+)*$", maxLength: 128 },
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

type Json = Record<string, any>
type GatewayProblem = keyof typeof gatewayProblems

const schemaRef = (name: GatewayProblem) => ({ $ref: `#/components/schemas/${name}` })

/** Adds a pipeline problem to one operation's responses, beside a problem the endpoint itself declares for that status. */
const addProblem = (responses: Json, status: string, name: GatewayProblem) => {
  const title = genericProblems[Number(status) as GatewayStatus].title
  const own = responses[status] as Json | undefined
  if (own === undefined) {
    responses[status] = { description: title, content: { [PROBLEM_JSON]: { schema: schemaRef(name) } } }
    return
  }
  const media = (own["content"] ??= {})[PROBLEM_JSON] ??= {}
  media.schema = media.schema === undefined ? schemaRef(name) : { anyOf: [media.schema, schemaRef(name)] }
  if (!String(own["description"] ?? "").includes(title)) own["description"] = `${own["description"] ?? "Error"} | ${title}`
}

/** The router's answers, shared by every operation (components/responses). */
const sharedResponses = () => ({
  RouteNotFound: {
    description: "No route matches this path",
    headers: refs(headerNames("404", true)),
    content: { [PROBLEM_JSON]: { schema: schemaRef("RouteNotFound") } }
  },
  MethodNotAllowed: {
    description: "The path exists, not with this method",
    headers: refs([...headerNames("405", true), "Allow"]),
    content: { [PROBLEM_JSON]: { schema: schemaRef("MethodNotAllowed") } }
  }
})

const refs = (names: ReadonlyArray<HeaderName>) => Object.fromEntries(names.map((name) => [name, ref(name)]))

/** The pipeline's headers on a response of this status. */
const headerNames = (status: string, limited: boolean): Array<HeaderName> => {
  const names: Array<HeaderName> = ["X-Request-Id", "Access-Control-Allow-Origin"]
  if (limited) names.push("RateLimit", "RateLimit-Policy")
  // The pipeline gives every 503 a Retry-After (an outage, a busy server, an unhealthy report).
  if (status === "429" || status === "503") names.push("Retry-After")
  if (status === "401") names.push("WWW-Authenticate")
  return names
}

/** A parameter that travels as digits documented as the integer it means (see `positiveIntFromString`). */
const documentIntegerParameter = (parameter: Json) => {
  const schema = parameter["schema"] as Json | undefined
  const integer = schema?.[INTEGER_PARAMETER_KEYWORD] ??
    (schema?.["allOf"] as Array<Json> | undefined)?.find((part) => part[INTEGER_PARAMETER_KEYWORD] !== undefined)?.[INTEGER_PARAMETER_KEYWORD]
  if (integer === undefined) return
  parameter["schema"] = { ...integer, ...(schema?.["description"] === undefined ? {} : { description: schema["description"] }) }
}

/** `status: 404` and the like are integers: `{type: number, enum: [404]}` says `integer`. */
const integerEnums = (value: unknown): void => {
  if (Array.isArray(value)) return value.forEach(integerEnums)
  if (value === null || typeof value !== "object") return
  const schema = value as Json
  if (schema["type"] === "number" && Array.isArray(schema["enum"]) && schema["enum"].every(Number.isInteger)) {
    const values = schema["enum"] as Array<number>
    Object.assign(schema, { type: "integer", format: "int32", minimum: Math.min(...values), maximum: Math.max(...values) })
  }
  Object.values(schema).forEach(integerEnums)
}

/** A JSON body that may be `null` may be left out (`omittableBody` in Payload.ts reads both as `{}`). */
const bodyRequired = (requestBody: Json) => {
  const schema = requestBody["content"]?.["application/json"]?.["schema"] as Json | undefined
  return !((schema?.["anyOf"] ?? []) as Array<Json>).some((branch) => branch["type"] === "null")
}

/**
 * The OpenAPI transform (annotation of CoreApi): what the pipeline does around every operation
 * stated on each of them, whichever group declared it: the router's 404 and 405 (shared
 * responses), the body, URL and time limits (413, 414, 415, 503), the rate limit (429, its
 * headers), the headers every response carries; integer parameters as integers; the server
 * entry (relative: this document is served by the API it describes).
 */
export const documentGateway = (spec: Json): Json => {
  spec["servers"] = [{
    url: "/",
    description: "The server this document was fetched from (local, staging or production alike)",
    "x-internal": false
  }]
  spec["components"] = {
    ...spec["components"],
    headers: { ...spec["components"]?.headers, ...headers },
    responses: { ...spec["components"]?.responses, ...sharedResponses() }
  }
  for (const [path, operations] of Object.entries(spec["paths"] as Json)) {
    const limited = !isRateLimitExempt(path)
    for (const operation of Object.values(operations as Json) as Array<Json>) {
      for (const parameter of operation["parameters"] ?? []) documentIntegerParameter(parameter)
      const responses = operation["responses"] as Json
      const body = operation["requestBody"] as Json | undefined
      if (body !== undefined) {
        body["required"] = bodyRequired(body)
        addProblem(responses, "400", "MalformedBody")
        addProblem(responses, "415", "UnsupportedMediaType")
      }
      addProblem(responses, "413", "PayloadTooLarge")
      addProblem(responses, "414", "UriTooLong")
      addProblem(responses, "503", "RequestTimeout")
      if (limited) addProblem(responses, "429", "RateLimited")
      for (const [status, response] of Object.entries(responses) as Array<[string, Json]>) {
        response["headers"] = { ...response["headers"], ...refs(headerNames(status, limited)) }
      }
      responses["404"] ??= { $ref: "#/components/responses/RouteNotFound" }
      responses["405"] = { $ref: "#/components/responses/MethodNotAllowed" }
    }
  }
  integerEnums(spec["components"]?.["schemas"])
  return spec
}
