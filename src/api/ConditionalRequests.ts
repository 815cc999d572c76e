import { Schema } from "effect"
import { HttpApiSchema } from "effect/http-api"

/**
 * Conditional requests on a resource whose version is its entity tag (RFC 9110 §13): every
 * answer carries `ETag`, a GET with a matching `If-None-Match` is answered 304 without a body.
 */
export const ETAG_DESCRIPTION =
  "Strong entity tag of this version of the resource (`\"v<version>\"`); send it back as If-None-Match on a GET (304 when unchanged) or as If-Match on an update"

/**
 * `If-None-Match` (one or more entity tags, weak ones too, or `*`), declared in the document
 * only: as an endpoint header schema, every typed call of the endpoint would have to pass a
 * `headers` argument and every read would decode the request's headers (ADR 0020). The
 * server reads it from the request; an unparsable value is ignored, as RFC 9110 allows.
 */
export const declareIfNoneMatch = (operation: Record<string, any>): Record<string, any> => ({
  ...operation,
  parameters: [...(operation["parameters"] ?? []), {
    name: "If-None-Match",
    in: "header",
    required: false,
    description: "Entity tags the client holds, e.g. `\"v3\"` or `W/\"v3\", \"v4\"`, or `*`; 304 without a body if one names the current version",
    schema: { type: "string", maxLength: 8192 }
  }]
})

/**
 * 304 Not Modified, for the Effect typed client a failure it can catch by tag: the client's
 * copy is current. It is no problem: no body, never an error in the access log.
 */
export class NotModified extends Schema.TaggedError<NotModified>()("NotModified", {}, {
  description: "Not modified: the version named in If-None-Match is current (no body; ETag repeated)",
  httpApiStatus: 304
}) {}

export const NotModifiedResponse = NotModified.pipe(HttpApiSchema.asNoContent({ decode: () => new NotModified() }))

/** The `ETag` response header in the OpenAPI document, for the given statuses of an operation. */
export const declareETag = (statuses: ReadonlyArray<string>) => (operation: Record<string, any>): Record<string, any> => {
  const responses = { ...operation["responses"] }
  for (const status of statuses) {
    const response = responses[status]
    if (response === undefined) continue
    responses[status] = {
      ...response,
      headers: { ...response.headers, ETag: { description: ETAG_DESCRIPTION, required: true, schema: { type: "string", pattern: "^\"v[1-9][0-9]*\"$", maxLength: 13 } } }
    }
  }
  return { ...operation, responses }
}
