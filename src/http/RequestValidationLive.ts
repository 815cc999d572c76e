import { Cause, Effect, ErrorReporter, Layer, SchemaIssue } from "effect"
import { HttpApiMiddleware } from "effect/http-api"
import type { HttpApiError } from "effect/http-api"
import { type FieldError, InternalError, ValidationFailed } from "../api/Problems.ts"
import { RequestValidation } from "../api/RequestValidation.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const locations = {
  Params: "path",
  Query: "query",
  Headers: "header",
  Payload: "body"
} as const satisfies Partial<Record<HttpApiError.HttpApiSchemaError["kind"], FieldError["location"]>>

const segment = (key: PropertyKey | { readonly key: PropertyKey }) =>
  String(typeof key === "object" ? key.key : key)

/** Every issue of a failed decoding, as `{path, location, message}` with a dotted path. */
export const fieldErrors = (
  location: FieldError["location"],
  error: HttpApiError.HttpApiSchemaError
): ReadonlyArray<FieldError> =>
  formatIssues(error.cause.issue).issues.map((issue) => {
    const path = (issue.path ?? []).map(segment).join(".")
    return { path: path === "" ? location : path, location, message: issue.message }
  })

export const layer = HttpApiMiddleware.layerSchemaErrorTransform(RequestValidation, (error) => {
  if (error.kind === "Body" || error.kind === "ResponseHeaders") {
    // The server produced a response its own schema refuses: a bug, reported and hidden.
    return Effect.andThen(ErrorReporter.report(Cause.fail(error)), Effect.fail(new InternalError({})))
  }
  return Effect.fail(new ValidationFailed({ errors: fieldErrors(locations[error.kind], error) }))
}) satisfies Layer.Layer<RequestValidation>
