import { Cause, Effect, Layer, Option, SchemaIssue, type Types } from "effect"
import { HttpApiError } from "effect/http-api"
import { type FieldError, InternalError, ValidationFailed } from "../api/Problems.ts"
import { RequestValidation } from "../api/RequestValidation.ts"
import { RequestLog } from "./RequestLog.ts"

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

const toProblem = (error: HttpApiError.HttpApiSchemaError): Effect.Effect<never, ValidationFailed | InternalError> => {
  if (error.kind === "Body" || error.kind === "ResponseHeaders") {
    // The server produced a response its own schema refuses: a bug, logged and hidden.
    return Effect.andThen(Effect.logError("response failed its own schema", Cause.fail(error)), Effect.fail(new InternalError({})))
  }
  return Effect.fail(new ValidationFailed({ errors: fieldErrors(locations[error.kind], error) }))
}

/**
 * Runs around every API endpoint: records the matched route template for the access log and
 * metrics, and turns schema failures into problems.
 */
export const layer: Layer.Layer<RequestValidation> = Layer.succeed(RequestValidation, (httpEffect, { endpoint }) =>
  Effect.flatMap(Effect.serviceOption(RequestLog), (log) => {
    if (Option.isSome(log)) log.value.route = endpoint.path
    return Effect.catch(
      httpEffect,
      (error: Types.unhandled): Effect.Effect<never, ValidationFailed | InternalError | Types.unhandled> =>
        HttpApiError.HttpApiSchemaError.is(error) ? toProblem(error) : Effect.fail(error)
    )
  }))
