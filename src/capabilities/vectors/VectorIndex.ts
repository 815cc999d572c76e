import { Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { AiConfig } from "../../config/AiConfig.ts"
import { AiBadReply, type AiUnavailable, FeatureUnavailable } from "../../domain/Ai.ts"
import {
  AttemptFailed,
  boundedFetch,
  type BreakerPolicy,
  decodeReply,
  defaultBreaker,
  findInChain,
  isTimeout,
  makeGuard,
  ReplyTooLarge,
  UpstreamStatus
} from "../ExternalCall.ts"

export type VectorIndexError = AiUnavailable | AiBadReply | FeatureUnavailable

export type VectorMetadata = Record<string, string | number | boolean | ReadonlyArray<string>>

export interface VectorMatch {
  readonly id: string
  readonly score: number
}

/**
 * Vectors in namespaces: Pinecone when PINECONE_API_KEY is set, "not configured" otherwise,
 * and process memory for tests. Every operation names its namespace and never falls back to a
 * shared default one: an empty namespace is a bug (a defect), never "all vectors".
 */
export class VectorIndex extends Context.Service<VectorIndex, {
  readonly kind: "pinecone" | "memory" | "unconfigured"
  /** For the start-up log; never contains credentials. */
  readonly description: string
  /** Inserts or replaces the vector `id` in `namespace`. */
  readonly upsert: (record: {
    readonly namespace: string
    readonly id: string
    readonly values: ReadonlyArray<number>
    readonly metadata: VectorMetadata
  }) => Effect.Effect<void, VectorIndexError>
  /** The `topK` nearest vectors of `namespace` only, most similar first. */
  readonly query: (query: {
    readonly namespace: string
    readonly values: ReadonlyArray<number>
    readonly topK: number
  }) => Effect.Effect<ReadonlyArray<VectorMatch>, VectorIndexError>
  /** Removes vectors; ids (or a namespace) that do not exist are fine. */
  readonly delete: (target: { readonly namespace: string; readonly ids: ReadonlyArray<string> }) => Effect.Effect<void, VectorIndexError>
  readonly deleteNamespace: (namespace: string) => Effect.Effect<void, VectorIndexError>
}>()("customify/capabilities/vectors/VectorIndex") {}

export const MAX_TOP_K = 100
/** Query replies are ids and scores only: far below this. */
export const MAX_REPLY_BYTES = 256 * 1024

const requireNamespace = (namespace: string) =>
  namespace.trim() === ""
    ? Effect.die(new Error("VectorIndex: every operation needs a namespace"))
    : Effect.void

// ---- Pinecone ---------------------------------------------------------------------------------

export interface PineconeOptions {
  readonly apiKey: Redacted.Redacted
  /** The index name; used to resolve the host when `host` is not given. */
  readonly index: string
  /** The data-plane host (https implied for a bare host name), e.g. a loopback Pinecone Local. */
  readonly host?: string | undefined
  /** Bounds each call, retries included (and each HTTP request within it). */
  readonly timeout: Duration.Duration
  /** Retries after the first attempt, on 408/429/5xx, timeouts and dropped connections. Default 2. */
  readonly retries?: number | undefined
  readonly retryBase?: Duration.Duration | undefined
  readonly maxRetryAfter?: Duration.Duration | undefined
  readonly breaker?: BreakerPolicy | undefined
  readonly maxReplyBytes?: number | undefined
}

const PROVIDER = "pinecone"

const statusOf = (error: unknown) =>
  findInChain(error, (e): e is UpstreamStatus => e instanceof UpstreamStatus)?.httpStatus

export const classifyPineconeError = (error: unknown): AttemptFailed | AiBadReply => {
  if (findInChain(error, (e): e is ReplyTooLarge => e instanceof ReplyTooLarge) !== undefined) {
    return new AiBadReply({ provider: PROVIDER, detail: "reply too large" })
  }
  if (findInChain(error, (e): e is SyntaxError => e instanceof SyntaxError) !== undefined) {
    return new AiBadReply({ provider: PROVIDER, detail: "reply is not valid JSON" })
  }
  const upstream = findInChain(error, (e): e is UpstreamStatus => e instanceof UpstreamStatus)
  if (upstream !== undefined) {
    const status = upstream.httpStatus
    if (status === 429) {
      return new AttemptFailed({
        kind: "rate_limited",
        retryable: true,
        countsAgainstProvider: true,
        status,
        retryAfter: upstream.retryAfter,
        cause: error
      })
    }
    if (status === 408 || status >= 500) {
      return new AttemptFailed({
        kind: "server_error",
        retryable: true,
        countsAgainstProvider: true,
        status,
        retryAfter: upstream.retryAfter,
        cause: error
      })
    }
    return new AttemptFailed({
      kind: "rejected",
      retryable: false,
      // A wrong key or index hits every call; a refused request (wrong dimension) only its own.
      countsAgainstProvider: status === 401 || status === 403 || status === 404,
      status,
      cause: error
    })
  }
  if (isTimeout(error)) return new AttemptFailed({ kind: "timeout", retryable: true, countsAgainstProvider: true, cause: error })
  if (error instanceof Error && error.name === "PineconeArgumentError") {
    return new AttemptFailed({ kind: "rejected", retryable: false, countsAgainstProvider: false, cause: error })
  }
  // The SDK wraps every failure of the request itself; a bare TypeError comes from reading a
  // 2xx reply of an unexpected shape (e.g. `matches` that is not an array).
  if (findInChain(error, (e): e is Error => e instanceof Error && e.name === "PineconeConnectionError") !== undefined) {
    return new AttemptFailed({ kind: "connection", retryable: true, countsAgainstProvider: true, cause: error })
  }
  if (error instanceof TypeError) return new AiBadReply({ provider: PROVIDER, detail: "reply has an unexpected shape" })
  return new AttemptFailed({ kind: "connection", retryable: false, countsAgainstProvider: true, cause: error })
}

const QueryReply = Schema.Struct({
  matches: Schema.Array(Schema.Struct({ id: Schema.String, score: Schema.optional(Schema.Finite) }))
    .check(Schema.isMaxLength(MAX_TOP_K))
})

/** "Not found" is what a delete of something already gone may answer. */
const ignoreNotFound = (promise: Promise<void>) =>
  promise.catch((error: unknown) => (statusOf(error) === 404 ? undefined : Promise.reject(error)))

/**
 * Over `@pinecone-database/pinecone`: its own retries off (ours are bounded and jittered). The
 * SDK (about 23 MiB of memory) is imported here, so processes without PINECONE_API_KEY never
 * load it.
 */
export const makePinecone = Effect.fnUntraced(function*(options: PineconeOptions) {
  const { Pinecone } = yield* Effect.promise(() => import("@pinecone-database/pinecone"))
  const client = new Pinecone({
    apiKey: Redacted.value(options.apiKey),
    maxRetries: 0,
    sourceTag: "customify_core_api",
    fetchApi: boundedFetch({
      maxBytes: options.maxReplyBytes ?? MAX_REPLY_BYTES,
      timeout: options.timeout,
      throwOnErrorStatus: true
    })
  })
  const index = client.index({ name: options.index, ...(options.host === undefined ? {} : { host: options.host }) })
  const { guarded } = yield* makeGuard({
    provider: PROVIDER,
    deadline: options.timeout,
    retries: options.retries ?? 2,
    retryBase: options.retryBase ?? Duration.millis(200),
    maxRetryAfter: options.maxRetryAfter ?? Duration.seconds(2)
  }, options.breaker ?? defaultBreaker)
  const decodeQuery = decodeReply(PROVIDER, "query", QueryReply)

  return VectorIndex.of({
    kind: "pinecone",
    description: `pinecone ${options.host ?? `index ${options.index}`}`,
    upsert: Effect.fn("VectorIndex.upsert")(function*(record) {
      yield* requireNamespace(record.namespace)
      yield* guarded(
        "upsert",
        () =>
          index.upsert({
            namespace: record.namespace,
            records: [{
              id: record.id,
              values: [...record.values],
              metadata: Object.fromEntries(
                Object.entries(record.metadata).map(([key, value]) => [key, Array.isArray(value) ? [...value] : value])
              ) as Record<string, string | number | boolean | Array<string>>
            }]
          }),
        classifyPineconeError
      )
    }),
    query: Effect.fn("VectorIndex.query")(function*(query) {
      yield* requireNamespace(query.namespace)
      const raw = yield* guarded(
        "query",
        () =>
          index.query({
            namespace: query.namespace,
            vector: [...query.values],
            topK: Math.max(1, Math.min(MAX_TOP_K, Math.floor(query.topK))),
            includeMetadata: false,
            includeValues: false
          }),
        classifyPineconeError,
        { "db.vector.top_k": query.topK }
      )
      return (yield* decodeQuery(raw)).matches.map((match) => ({ id: match.id, score: match.score ?? 0 }))
    }),
    delete: Effect.fn("VectorIndex.delete")(function*(target) {
      yield* requireNamespace(target.namespace)
      if (target.ids.length === 0) return
      yield* guarded(
        "delete",
        () => ignoreNotFound(index.deleteMany({ namespace: target.namespace, ids: [...target.ids] })),
        classifyPineconeError
      )
    }),
    deleteNamespace: Effect.fn("VectorIndex.deleteNamespace")(function*(namespace) {
      yield* requireNamespace(namespace)
      yield* guarded("deleteNamespace", () => ignoreNotFound(index.deleteAll({ namespace })), classifyPineconeError)
    })
  })
})

export const layerPineconeWith = (options: PineconeOptions): Layer.Layer<VectorIndex> =>
  Layer.effect(VectorIndex, makePinecone(options))

// ---- Not configured ---------------------------------------------------------------------------

const notConfigured = Effect.fail(new FeatureUnavailable({ feature: "vector_index" }))

/** No PINECONE_API_KEY: every call fails `FeatureUnavailable` (503), nothing else is affected. */
export const layerUnconfigured: Layer.Layer<VectorIndex> = Layer.succeed(
  VectorIndex,
  VectorIndex.of({
    kind: "unconfigured",
    description: "not configured (set PINECONE_API_KEY)",
    upsert: () => notConfigured,
    query: () => notConfigured,
    delete: () => notConfigured,
    deleteNamespace: () => notConfigured
  })
)

// ---- Memory ---------------------------------------------------------------------------------------

const cosine = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => {
  let dot = 0
  let normA = 0
  let normB = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!
    normA += a[i]! * a[i]!
    normB += b[i]! * b[i]!
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB)
}

/** Namespaced Maps and cosine similarity, in this process: for tests. */
export const layerMemory: Layer.Layer<VectorIndex> = Layer.sync(VectorIndex, () => {
  const namespaces = new Map<string, Map<string, ReadonlyArray<number>>>()
  return VectorIndex.of({
    kind: "memory",
    description: "memory (this process only)",
    upsert: (record) =>
      Effect.map(requireNamespace(record.namespace), () => {
        const vectors = namespaces.get(record.namespace) ?? new Map<string, ReadonlyArray<number>>()
        vectors.set(record.id, [...record.values])
        namespaces.set(record.namespace, vectors)
      }),
    query: (query) =>
      Effect.map(requireNamespace(query.namespace), () =>
        [...(namespaces.get(query.namespace) ?? new Map<string, ReadonlyArray<number>>()).entries()]
          .map(([id, values]) => ({ id, score: cosine(values, query.values) }))
          .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
          .slice(0, Math.max(1, Math.min(MAX_TOP_K, Math.floor(query.topK))))),
    delete: (target) =>
      Effect.map(requireNamespace(target.namespace), () => {
        const vectors = namespaces.get(target.namespace)
        for (const id of target.ids) vectors?.delete(id)
      }),
    deleteNamespace: (namespace) => Effect.map(requireNamespace(namespace), () => void namespaces.delete(namespace))
  })
})

// ---- Choice -------------------------------------------------------------------------------------

/** Pinecone when PINECONE_API_KEY is set, not configured otherwise. */
export const layer: Layer.Layer<VectorIndex, never, AiConfig> = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* AiConfig
    return Option.match(config.pineconeApiKey, {
      onNone: () => layerUnconfigured,
      onSome: (apiKey) =>
        layerPineconeWith({
          apiKey,
          index: config.pineconeIndex,
          host: Option.getOrUndefined(config.pineconeIndexHost),
          timeout: config.pineconeTimeout
        })
    })
  })
)
