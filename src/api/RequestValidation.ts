import { HttpApiMiddleware } from "effect/http-api"
import { InternalError, ValidationFailed } from "./Problems.ts"

/**
 * Turns request decoding failures into one `validation_failed` problem listing every invalid
 * field, and response encoding failures into an `internal_error` problem. Declared on the API
 * so that both appear in the OpenAPI document and the typed client decodes them.
 */
export class RequestValidation extends HttpApiMiddleware.Service<RequestValidation>()(
  "customify/api/RequestValidation",
  { error: [ValidationFailed, InternalError] }
) {}
