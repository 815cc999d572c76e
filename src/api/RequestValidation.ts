import { HttpApiMiddleware } from "effect/http-api"
import { InternalError, ServiceUnavailable, ValidationFailed } from "./Problems.ts"

/**
 * Turns request decoding failures into one `validation_failed` problem listing every invalid
 * field, and response encoding failures into an `internal_error` problem. Declared on the API,
 * with the `service_unavailable` problem any endpoint answers when a backing service (the
 * database above all) is out, so that all three appear in the OpenAPI document of every
 * operation and the typed client decodes them.
 */
export class RequestValidation extends HttpApiMiddleware.Service<RequestValidation>()(
  "customify/api/RequestValidation",
  { error: [ValidationFailed, InternalError, ServiceUnavailable] }
) {}
