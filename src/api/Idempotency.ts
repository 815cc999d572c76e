import { Schema } from "effect"
import { HttpApiError, HttpApiMiddleware } from "effect/http-api"
import { Int32, matching } from "../domain/Primitives.ts"
import { problemMembers, problemType, ServiceUnavailable, ValidationFailed } from "./Problems.ts"

/**
 * Idempotent creates (docs/decisions/0019-idempotent-creates.md): a POST that creates something
 * honours an `Idempotency-Key` header. The same key (per user) with the same request within
 * IDEMPOTENCY_KEY_TTL_HOURS replays the first answer; with another request it is 422; while the
 * first is still running, 409.
 */
export const IDEMPOTENCY_KEY_HEADER = "idempotency-key"

/** Set to `true` on an answer replayed from an earlier request with the same key. */
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed"

/** How long a key binds its request and answer. */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24

/** 1 to 255 visible ASCII characters (no spaces): a UUID v4 per operation is what the client package sends. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7E]{1,255}$/u

export const IdempotencyKey = matching(IDEMPOTENCY_KEY_PATTERN, 255).annotate({
  description: "A unique key per operation (e.g. a UUID), reused on every retry of that operation"
})

/** The same key was first used for another request (other body, route or method). */
export class IdempotencyKeyReused extends HttpApiError.Problem<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  type: problemType("idempotency_key_reused"),
  status: 422,
  title: "This Idempotency-Key was used for another request"
}, {
  code: Schema.tag("idempotency_key_reused"),
  ...problemMembers
}) {}

/** A request with the same key is still running (on this or another instance). */
export class IdempotencyInProgress extends HttpApiError.Problem<IdempotencyInProgress>()("IdempotencyInProgress", {
  type: problemType("idempotency_in_progress"),
  status: 409,
  title: "A request with this Idempotency-Key is in progress"
}, {
  code: Schema.tag("idempotency_in_progress"),
  ...problemMembers,
  retryAfter: Int32.annotate({ description: "Seconds after which to retry with the same key, also sent as Retry-After" })
}) {}

/**
 * Marks an endpoint as an idempotent create. Put it first on the endpoint (before the group's
 * `Authentication`): it runs inside authentication, since keys belong to the signed-in user. The
 * header itself is added to the document by `documentIdempotency` rather than declared on the
 * endpoint, so that typed clients need not pass `headers` on every create (the client package
 * sets it).
 */
export class Idempotent extends HttpApiMiddleware.Service<Idempotent>()("customify/api/Idempotent", {
  error: [IdempotencyKeyReused, IdempotencyInProgress, ValidationFailed, ServiceUnavailable]
}) {}

type Json = Record<string, any>

const inProgressRef = "#/components/schemas/IdempotencyInProgress"

/**
 * The OpenAPI transform: every operation that can answer `idempotency_in_progress` (the ones
 * marked `Idempotent`) takes the optional `Idempotency-Key` header, says `Idempotent-Replayed`
 * on its successes and Retry-After on its 409.
 */
export const documentIdempotency = (spec: Json): Json => {
  for (const operations of Object.values(spec["paths"] as Json)) {
    for (const operation of Object.values(operations as Json)) {
      const responses = (operation as Json)["responses"] as Json
      if (!JSON.stringify(responses["409"] ?? {}).includes(inProgressRef)) continue
      operation.parameters = [...(operation.parameters ?? []), {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description: `Makes retrying this create safe: the same key and request within ${IDEMPOTENCY_KEY_TTL_HOURS} h answer the first response again ` +
          "(with Idempotent-Replayed: true) without creating twice; another request with the key is 422 `idempotency_key_reused`; " +
          "while the first is still running, 409 `idempotency_in_progress` with Retry-After. Keys are per user.",
        schema: { type: "string", pattern: IDEMPOTENCY_KEY_PATTERN.source, minLength: 1, maxLength: 255 }
      }]
      for (const [status, response] of Object.entries(responses)) {
        if (status.startsWith("2")) {
          response.headers = {
            ...response.headers,
            "Idempotent-Replayed": {
              description: "true when this answer is the replay of an earlier request with the same Idempotency-Key",
              required: false,
              schema: { type: "string", enum: ["true"] }
            }
          }
        }
        if (status === "409") {
          response.headers = {
            ...response.headers,
            "Retry-After": {
              description: "Seconds to wait before retrying (idempotency_in_progress)",
              required: false,
              schema: { type: "integer", format: "int32", minimum: 0, maximum: 86_400 }
            }
          }
        }
      }
    }
  }
  return spec
}
