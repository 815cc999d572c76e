import { createHash } from "node:crypto"
import { Cause, Duration, Effect, Exit, Layer, Option } from "effect"
import { HttpEffect, HttpRouter, HttpServerRequest, type HttpServerResponse } from "effect/http"
import * as Response from "effect/http/HttpServerResponse"
import {
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  IDEMPOTENCY_KEY_TTL_HOURS,
  IdempotencyInProgress,
  IdempotencyKeyReused,
  Idempotent,
  IDEMPOTENT_REPLAYED_HEADER
} from "../../api/Idempotency.ts"
import { ValidationFailed } from "../../api/Problems.ts"
import { CurrentActor } from "../../api/Security.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { toProblem } from "../../http/DomainProblems.ts"
import { type Held, IdempotencyStore, type StoredAnswer } from "./IdempotencyStore.ts"

/**
 * A claim outlives the request timeout by this much before a retry may take it over: after the
 * timeout the request is interrupted, and this covers a statement still finishing meanwhile.
 */
export const LEASE_MARGIN = Duration.seconds(5)

export const KEY_TTL = Duration.hours(IDEMPOTENCY_KEY_TTL_HOURS)

/** JSON with its object keys sorted, so that the same body spelled differently is the same request. */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(",")}}`
  }
  return JSON.stringify(value)
}

/** An empty body is the empty object (the endpoints whose fields are all optional take either). */
const canonicalBody = (text: string): string => {
  if (text.trim() === "") return "{}"
  try {
    return canonical(JSON.parse(text))
  } catch {
    return text
  }
}

/** What binds a key: method, path (the resource acted on, see `resourceOf`) and body. */
export const fingerprint = (method: string, url: string, body: string): string =>
  createHash("sha256").update(`${method}\n${url.split("?")[0]}\n${canonicalBody(body)}`).digest("base64url")

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/iu

/**
 * The resource a request acts on, as the handler sees it: the matched route and its parameters
 * (percent-decoded by the router; a UUID in either case is the same id, the schemas lower-case
 * it), so a retry that spells the same path otherwise is the same request, not a reused key.
 */
export const resourceOf = (route: HttpRouter.RouteContext["Service"] | undefined, url: string): string => {
  if (route === undefined) return url
  const params = Object.fromEntries(
    Object.entries(route.params).map(([name, value]) => [name, value !== undefined && UUID.test(value) ? value.toLowerCase() : value])
  )
  return `${route.route.path}\n${encodeURIComponent(canonical(params))}`
}

/** Headers not worth keeping: the transport's, recomputed when the answer is sent again. */
const TRANSPORT_HEADERS = new Set(["content-length", "date", "connection", "transfer-encoding", "set-cookie"])

/** The answer to store, when it is one worth replaying (a success with a body held in memory). */
const storable = (response: HttpServerResponse.HttpServerResponse): StoredAnswer | undefined => {
  if (response.status < 200 || response.status >= 300) return undefined
  const body = response.body
  if (body._tag !== "Uint8Array" && body._tag !== "Empty") return undefined
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(response.headers)) {
    if (!TRANSPORT_HEADERS.has(name)) headers[name] = value
  }
  if (body._tag === "Empty") return { status: response.status, headers, body: "" }
  headers["content-type"] = body.contentType
  return { status: response.status, headers, body: new TextDecoder().decode(body.body) }
}

/**
 * Headers that matter to a client and that code outside the middleware may set on the way out
 * (a pre-response handler: the designs' ETag): read from the response as it is sent.
 */
const RESOURCE_HEADERS = ["etag", "location", "content-location", "last-modified"] as const

/** The answer with the resource headers of the response as sent, or undefined when it had them all already. */
const withSentHeaders = (answer: StoredAnswer, sent: HttpServerResponse.HttpServerResponse): StoredAnswer | undefined => {
  const added = Object.fromEntries(
    RESOURCE_HEADERS.flatMap((name) => {
      const value = sent.headers[name]
      return value === undefined || value === answer.headers[name] ? [] : [[name, value]]
    })
  )
  return Object.keys(added).length === 0 ? undefined : { ...answer, headers: { ...answer.headers, ...added } }
}

const replay = (answer: StoredAnswer) => {
  const { "content-type": contentType, ...headers } = answer.headers
  const replayed = { ...headers, [IDEMPOTENT_REPLAYED_HEADER]: "true" }
  return answer.body === "" && contentType === undefined
    ? Response.empty({ status: answer.status, headers: replayed })
    : Response.text(answer.body, { status: answer.status, headers: replayed, contentType: contentType ?? "application/json" })
}

const invalidKey = new ValidationFailed({
  errors: [{
    path: IDEMPOTENCY_KEY_HEADER,
    location: "header",
    message: "Expected 1 to 255 visible ASCII characters (no spaces), e.g. a UUID"
  }]
})

/**
 * The `Idempotent` middleware: inside authentication (keys are per user), around the decoding,
 * the handler and the encoding, so what it stores is the response the client got. Successes
 * (2xx) are kept for replay; any other outcome frees the key: a 4xx wrote nothing, a 5xx or a
 * defect failed before its effects committed, so running the request again is what a retry
 * should do. Once claimed, the request runs to its end even if its client leaves or its timeout
 * answers 503 first, so its answer is stored; only a process that dies mid-request leaves the
 * claim to its lease, since it may or may not have committed.
 */
export const layer = Layer.effect(Idempotent, Effect.gen(function*() {
  const store = yield* IdempotencyStore
  const { requestTimeout } = yield* AppConfig
  const lease = Duration.sum(requestTimeout, LEASE_MARGIN)

  const settle = (held: Held, exit: Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>) => {
    if (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)) return Effect.void
    const answer = Exit.isSuccess(exit) ? storable(exit.value) : undefined
    return (answer === undefined ? store.release(held) : store.complete(held, answer)).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning(`idempotency: could not ${answer === undefined ? "release" : "store the answer of"} a key; it is held until its lease ends`, cause))
    )
  }

  return Idempotent.of((httpEffect) =>
    Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const key = request.headers[IDEMPOTENCY_KEY_HEADER]
      const actor = yield* Effect.serviceOption(CurrentActor)
      const route = yield* Effect.serviceOption(HttpRouter.RouteContext)
      if (key === undefined || Option.isNone(actor)) return yield* httpEffect
      if (!IDEMPOTENCY_KEY_PATTERN.test(key)) return yield* Effect.fail(invalidKey)
      // A body that cannot be read fails the same way in the handler.
      const body = yield* Effect.option(request.text)
      if (Option.isNone(body)) return yield* httpEffect
      const userId = actor.value.userId
      const claim = yield* store.claim({
        userId,
        key,
        fingerprint: fingerprint(request.method, resourceOf(Option.getOrUndefined(route), request.url), body.value),
        lease,
        ttl: KEY_TTL
      }).pipe(Effect.mapError(toProblem))
      switch (claim._tag) {
        case "UserGone":
          return yield* httpEffect
        case "Replay":
          return replay(claim.answer)
        case "OtherRequest":
          return yield* Effect.fail(new IdempotencyKeyReused({
            detail: "This key was first sent with another method, path or body; use a new key for a new request"
          }))
        case "InProgress":
          return yield* Effect.fail(new IdempotencyInProgress({
            retryAfter: claim.retryAfterSeconds,
            detail: "The first request with this key is still running; retry with the same key after Retry-After"
          }))
        case "Claimed": {
          const held = { userId, key, token: claim.token }
          // Stored at once (the claim is answered even if sending fails), then completed with
          // the headers added on the way out, so a replay carries what this answer carried.
          // Not interruptible once claimed: a client that gives up (or the request timeout)
          // must not cut a create between its commit and the stored answer, or a retry after
          // the lease would create again. The timeout still answers 503; a retry replays.
          const response = yield* httpEffect.pipe(Effect.onExit((exit) => settle(held, exit)), Effect.uninterruptible)
          const answer = storable(response)
          if (answer !== undefined) {
            yield* HttpEffect.appendPreResponseHandler((_request, sent) => {
              const complete = withSentHeaders(answer, sent)
              return complete === undefined ? Effect.succeed(sent) : store.complete(held, complete).pipe(
                Effect.catchCause((cause) => Effect.logWarning("idempotency: could not store an answer's headers", cause)),
                Effect.as(sent)
              )
            })
          }
          return response
        }
      }
    }))
}))
