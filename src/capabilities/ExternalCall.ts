import { Cause, Data, Duration, Effect, Exit, Option, Schedule, Schema, Stream } from "effect"
import { CircuitBreaker } from "effect/persistence"
import { AiBadReply, AiUnavailable } from "../domain/Ai.ts"

/**
 * How every call to an external provider (OpenAI, Pinecone) is made: one deadline for the whole
 * call, bounded and jittered retries on retryable failures only, a circuit breaker that stops
 * hammering a failing provider, tracing spans, and typed failures. The provider layers supply
 * the SDK call and a classifier for its errors; this module owns the policy.
 */

/** A reply refused while it was being read, before it could fill memory. */
export class ReplyTooLarge extends Error {
  readonly limitBytes: number
  constructor(limitBytes: number) {
    super(`reply larger than ${limitBytes} bytes`)
    this.name = "ReplyTooLarge"
    this.limitBytes = limitBytes
  }
}

/** A non-2xx HTTP answer, thrown by `boundedFetch` for SDKs whose own error types lose the status. */
export class UpstreamStatus extends Error {
  // Not `status`: some SDKs retry on their own when an error carries a 5xx `status`.
  readonly httpStatus: number
  readonly retryAfter: Duration.Duration | undefined
  constructor(httpStatus: number, retryAfter: Duration.Duration | undefined) {
    super(`upstream answered HTTP ${httpStatus}`)
    this.name = "UpstreamStatus"
    this.httpStatus = httpStatus
    this.retryAfter = retryAfter
  }
}

/** `retry-after-ms`, or `retry-after` in seconds or as an HTTP date. */
export const retryAfterOf = (headers: Headers | undefined): Duration.Duration | undefined => {
  if (headers === undefined) return undefined
  const millis = Number(headers.get("retry-after-ms") ?? Number.NaN)
  if (Number.isFinite(millis) && millis >= 0) return Duration.millis(millis)
  const raw = headers.get("retry-after")
  if (raw === null) return undefined
  const seconds = Number(raw)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.seconds(seconds)
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - Date.now()))
}

/** The first error in `error`'s `cause` chain that satisfies `predicate`. */
export const findInChain = <T>(error: unknown, predicate: (candidate: unknown) => candidate is T): T | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    if (predicate(current)) return current
    current = typeof current === "object" && "cause" in current ? (current as { cause: unknown }).cause : undefined
  }
  return undefined
}

export const isTimeout = (error: unknown): boolean =>
  findInChain(error, (e): e is Error =>
    e instanceof Error && (e.name === "TimeoutError" || /timed? ?out/i.test(e.message))) !== undefined

const errorBody = (error: Error): ReadableStream<Uint8Array> =>
  new ReadableStream({ start: (controller) => controller.error(error) })

/**
 * A `fetch` for SDKs: the reply body is cut off (and the connection dropped) as soon as it
 * exceeds `maxBytes`, each HTTP request is bounded by `timeout`, and with `throwOnErrorStatus`
 * a non-2xx answer is thrown as `UpstreamStatus` without reading its body.
 */
export const boundedFetch = (options: {
  readonly maxBytes: number
  readonly timeout?: Duration.Duration | undefined
  readonly throwOnErrorStatus?: boolean | undefined
}): typeof globalThis.fetch =>
async (input, init) => {
  const signals = [
    ...(init?.signal ? [init.signal] : []),
    ...(options.timeout === undefined ? [] : [AbortSignal.timeout(Math.max(1, Duration.toMillis(options.timeout)))])
  ]
  const response = await fetch(input, { ...init, ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) })
  if (options.throwOnErrorStatus === true && (response.status < 200 || response.status > 299)) {
    await response.body?.cancel().catch(() => undefined)
    throw new UpstreamStatus(response.status, retryAfterOf(response.headers))
  }
  if (response.body === null || response.status === 204 || response.status === 205 || response.status === 304) {
    return response
  }
  const declared = Number(response.headers.get("content-length") ?? Number.NaN)
  let body: ReadableStream<Uint8Array>
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    await response.body.cancel().catch(() => undefined)
    body = errorBody(new ReplyTooLarge(options.maxBytes))
  } else {
    let seen = 0
    body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          seen += chunk.byteLength
          // Erroring the pipe cancels the source: the rest of the reply is never downloaded.
          if (seen > options.maxBytes) controller.error(new ReplyTooLarge(options.maxBytes))
          else controller.enqueue(chunk)
        }
      })
    )
  }
  const limited = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
  Object.defineProperty(limited, "url", { value: response.url })
  return limited
}

/** One failed attempt, as the provider's classifier sees it. */
export class AttemptFailed extends Data.TaggedError("AttemptFailed")<{
  readonly kind: Exclude<AiUnavailable["kind"], "circuit_open">
  /** Worth another attempt (429, 5xx, timeouts, dropped connections). */
  readonly retryable: boolean
  /** Says something about the provider's health (false for a request the provider refused as invalid). */
  readonly countsAgainstProvider: boolean
  readonly status?: number | undefined
  readonly retryAfter?: Duration.Duration | undefined
  readonly cause?: unknown
}> {}

export interface CallPolicy {
  /** `openai`, `pinecone`: the breaker key, span prefix and error field. */
  readonly provider: string
  /** Bounds a whole call, retries and backoff included. */
  readonly deadline: Duration.Duration
  /** Retries after the first attempt. */
  readonly retries: number
  /** First backoff delay; doubled each retry, jittered by ±20%. */
  readonly retryBase: Duration.Duration
  /** A provider asking us to wait longer than this (Retry-After) is not retried: the call fails at once. */
  readonly maxRetryAfter: Duration.Duration
}

export interface BreakerPolicy {
  /** Consecutive failed calls (after their retries) that open the circuit. */
  readonly failures: number
  /** How long an open circuit refuses calls before letting one probe through. */
  readonly openFor: Duration.Duration
}

export const defaultBreaker: BreakerPolicy = { failures: 5, openFor: Duration.seconds(30) }

/** Runs one SDK call under the policy; the attempt receives an AbortSignal fired on timeout. */
export type Guarded = <A>(
  operation: string,
  attempt: (signal: AbortSignal) => Promise<A>,
  classify: (error: unknown) => AttemptFailed | AiBadReply,
  attributes?: Record<string, unknown>
) => Effect.Effect<A, AiUnavailable | AiBadReply>

const seconds = (duration: Duration.Duration) => Math.max(1, Math.ceil(Duration.toSeconds(duration)))

const fromBreaker = (provider: string, error: CircuitBreaker.CircuitBreakerError): AiUnavailable => {
  switch (error.reason._tag) {
    case "CircuitOpen":
      return new AiUnavailable({ provider, kind: "circuit_open", retryAfterSeconds: seconds(error.reason.retryAfter) })
    case "CircuitHalfOpen":
      return new AiUnavailable({ provider, kind: "circuit_open", retryAfterSeconds: 1 })
    case "CircuitBreakerStoreError":
      return new AiUnavailable({ provider, kind: "connection" })
  }
}

const toDomain = (provider: string) =>
(error: AttemptFailed | AiBadReply | CircuitBreaker.CircuitBreakerError): AiUnavailable | AiBadReply => {
  switch (error._tag) {
    case "AiBadReply":
      return error
    case "CircuitBreakerError":
      return fromBreaker(provider, error)
    case "AttemptFailed":
      return new AiUnavailable({
        provider,
        kind: error.kind,
        ...(error.retryAfter === undefined ? {} : { retryAfterSeconds: seconds(error.retryAfter) })
      })
  }
}

/**
 * The policy for one provider, with a circuit breaker of its own (in this process's memory:
 * each instance decides for itself). Needs a scope: the breaker lives as long as the layer.
 */
export const makeGuard = Effect.fnUntraced(function*(policy: CallPolicy, breakerPolicy: BreakerPolicy = defaultBreaker) {
  const breaker = yield* CircuitBreaker.make({
    tripPolicy: CircuitBreaker.consecutive(breakerPolicy.failures),
    openDuration: breakerPolicy.openFor
  }).pipe(Effect.provide(CircuitBreaker.layerStoreMemory()))
  // Each opening and closing once in the logs; the rejections in between are at debug level.
  yield* breaker.transitions.pipe(
    Stream.runForEach((transition) =>
      transition.to === "Open"
        ? Effect.logWarning(
          `${policy.provider}: circuit open for ${Duration.format(transition.retryAfter)}, calls fail fast`
        )
        : transition.to === "Closed"
        ? Effect.logInfo(`${policy.provider}: circuit closed, calls flow again`)
        : Effect.void
    ),
    Effect.forkScoped({ startImmediately: true })
  )

  const backoff = Schedule.exponential(policy.retryBase).pipe(
    Schedule.jittered,
    // Never sooner than the provider asked for (already bounded by `maxRetryAfter`).
    Schedule.modifyDelay(({ duration, input }) =>
      Effect.succeed(
        input instanceof AttemptFailed && input.retryAfter !== undefined ? Duration.max(duration, input.retryAfter) : duration
      ))
  )
  const worthRetrying = (error: AttemptFailed | AiBadReply) =>
    error._tag === "AttemptFailed" && error.retryable &&
    (error.retryAfter === undefined || Duration.isLessThanOrEqualTo(error.retryAfter, policy.maxRetryAfter))

  const outcome = (exit: Exit.Exit<unknown, AttemptFailed | AiBadReply>): CircuitBreaker.Outcome => {
    if (Exit.isSuccess(exit)) return CircuitBreaker.success
    const error = Cause.findErrorOption(exit.cause)
    if (Option.isNone(error)) return CircuitBreaker.failure()
    if (error.value._tag === "AiBadReply" || !error.value.countsAgainstProvider) return CircuitBreaker.ignored
    return CircuitBreaker.failure(error.value.retryAfter === undefined ? undefined : { retryAfter: error.value.retryAfter })
  }

  const guarded: Guarded = (operation, attempt, classify, attributes = {}) => {
    const once = Effect.tryPromise({ try: attempt, catch: classify }).pipe(
      Effect.tapError((error) =>
        Effect.annotateCurrentSpan(
          error._tag === "AttemptFailed"
            ? { "error.kind": error.kind, ...(error.status === undefined ? {} : { "http.response.status_code": error.status }) }
            : { "error.kind": "bad_reply" }
        )),
      Effect.withSpan(`${policy.provider}.${operation}.attempt`)
    )
    const bounded = once.pipe(
      Effect.retry({ schedule: backoff, times: policy.retries, while: worthRetrying }),
      Effect.timeoutOrElse({
        duration: policy.deadline,
        orElse: () => Effect.fail(new AttemptFailed({ kind: "timeout", retryable: true, countsAgainstProvider: true }))
      })
    )
    // Retries and the deadline inside the breaker: it sees one outcome per call.
    return breaker.execute(bounded, { key: policy.provider, classify: outcome }).pipe(
      Effect.mapError(toDomain(policy.provider)),
      // An open circuit rejects every call: its opening is logged once, the rejections are noise.
      Effect.tapError((error) =>
        (error._tag === "AiUnavailable" && error.kind === "circuit_open" ? Effect.logDebug : Effect.logWarning)(
          `${policy.provider} ${operation} failed`
        ).pipe(Effect.annotateLogs(error._tag === "AiBadReply" ? { reason: error.detail } : { reason: error.kind }))),
      Effect.withSpan(`${policy.provider}.${operation}`, { attributes: { "ai.provider": policy.provider, ...attributes } })
    )
  }
  return { guarded, state: breaker.state(policy.provider) }
})

const firstIssue = (error: unknown) => {
  const text = error instanceof Error ? error.message : String(error)
  const line = text.split("\n").find((l) => l.trim() !== "") ?? text
  return line.length > 200 ? `${line.slice(0, 200)}…` : line
}

/** Decodes a provider's reply with `schema`; anything else is `AiBadReply` (never a defect). */
export const decodeReply = <S extends Schema.Top>(provider: string, what: string, schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (value: unknown): Effect.Effect<S["Type"], AiBadReply, S["DecodingServices"]> =>
    decode(value).pipe(
      Effect.mapError((error) => new AiBadReply({ provider, detail: `${what}: ${firstIssue(error)}` }))
    )
}
