import { Config, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { type InvalidConfiguration, loadFrom, readSettings } from "./AppConfig.ts"

/**
 * Settings of the AI features (suggestions through OpenAI, similar designs through OpenAI
 * embeddings and Pinecone), read from environment variables once at start-up. Every provider
 * is optional: without its key the features that need it answer 503 `feature_unavailable`
 * and the rest of the API works as usual.
 */
export interface AiSettings {
  /** `None`: the language model is not configured (suggestions and similar designs are off). */
  readonly openAiApiKey: Option.Option<Redacted.Redacted>
  /** Another OpenAI-compatible endpoint (a proxy, a local server such as Ollama or LM Studio). */
  readonly openAiBaseUrl: Option.Option<string>
  readonly openAiModel: string
  readonly openAiEmbeddingModel: string
  /** Bounds a whole call to OpenAI, retries included. */
  readonly openAiTimeout: Duration.Duration
  /** `None`: the vector index is not configured (similar designs are off). */
  readonly pineconeApiKey: Option.Option<Redacted.Redacted>
  /** The index's data-plane host; `None`: the SDK resolves it from `pineconeIndex` once. */
  readonly pineconeIndexHost: Option.Option<string>
  readonly pineconeIndex: string
  /** Bounds a whole call to Pinecone, retries included. */
  readonly pineconeTimeout: Duration.Duration
  /** Suggestion calls per user per hour, on top of the per-IP gateway limit. */
  readonly aiSuggestionsPerHour: number
  /** Similar-design searches (an embedding call and a vector query each) per user per hour. */
  readonly similarSearchesPerHour: number
}

export class AiConfig extends Context.Service<AiConfig, AiSettings>()("customify/config/AiConfig") {}

const settings = {
  openAiApiKey: Config.Redacted("OPENAI_API_KEY").pipe(Config.option),
  openAiBaseUrl: Config.String("OPENAI_BASE_URL").pipe(Config.option),
  openAiModel: Config.String("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini")),
  openAiEmbeddingModel: Config.String("OPENAI_EMBEDDING_MODEL").pipe(Config.withDefault("text-embedding-3-small")),
  openAiTimeout: Config.Duration("OPENAI_TIMEOUT").pipe(Config.withDefault(Duration.seconds(20))),
  pineconeApiKey: Config.Redacted("PINECONE_API_KEY").pipe(Config.option),
  pineconeIndexHost: Config.String("PINECONE_INDEX_HOST").pipe(Config.option),
  pineconeIndex: Config.String("PINECONE_INDEX").pipe(Config.withDefault("designs")),
  pineconeTimeout: Config.Duration("PINECONE_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5))),
  aiSuggestionsPerHour: Config.Int("AI_SUGGESTIONS_PER_HOUR").pipe(Config.withDefault(20)),
  similarSearchesPerHour: Config.Int("SIMILAR_SEARCHES_PER_HOUR").pipe(Config.withDefault(60))
} as const

type Raw = { readonly [K in keyof typeof settings]: Config.Success<(typeof settings)[K]> }

const isHttpUrl = (value: string) => {
  try {
    const url = new URL(value)
    return url.protocol === "http:" || url.protocol === "https:"
  } catch {
    return false
  }
}

/** A full http(s) URL, or a bare host name such as `designs-abc123.svc.pinecone.io` (https implied). */
const isHostOrUrl = (value: string) =>
  /^https?:\/\//.test(value) ? isHttpUrl(value) : /^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(value)

const blank = (value: Option.Option<Redacted.Redacted>) =>
  Option.isSome(value) && Redacted.value(value.value).trim() === ""

const crossChecks = (raw: Raw): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (blank(raw.openAiApiKey)) problems.push("OPENAI_API_KEY: must not be empty (unset it to turn the AI features off)")
  if (blank(raw.pineconeApiKey)) problems.push("PINECONE_API_KEY: must not be empty (unset it to turn similar designs off)")
  if (Option.isSome(raw.openAiBaseUrl)) {
    if (!isHttpUrl(raw.openAiBaseUrl.value)) problems.push("OPENAI_BASE_URL: must be an http(s):// URL")
    if (Option.isNone(raw.openAiApiKey)) {
      problems.push("OPENAI_BASE_URL: set OPENAI_API_KEY too (any value for a local server that ignores it)")
    }
  }
  if (Option.isSome(raw.pineconeIndexHost)) {
    if (!isHostOrUrl(raw.pineconeIndexHost.value)) {
      problems.push("PINECONE_INDEX_HOST: must be a host like designs-abc123.svc.pinecone.io or an http(s):// URL")
    }
    if (Option.isNone(raw.pineconeApiKey)) {
      problems.push("PINECONE_INDEX_HOST: set PINECONE_API_KEY too (any value for Pinecone Local)")
    }
  }
  if (raw.openAiModel.trim() === "") problems.push("OPENAI_MODEL: must not be empty")
  if (raw.openAiEmbeddingModel.trim() === "") problems.push("OPENAI_EMBEDDING_MODEL: must not be empty")
  if (!/^[a-z0-9-]{1,45}$/.test(raw.pineconeIndex)) {
    problems.push("PINECONE_INDEX: must be 1 to 45 lowercase letters, digits or -")
  }
  const timeout = (name: string, value: Duration.Duration) => {
    if (Duration.toMillis(value) < 100 || Duration.toMinutes(value) > 5) {
      problems.push(`${name}: must be between 100 milliseconds and 5 minutes`)
    }
  }
  timeout("OPENAI_TIMEOUT", raw.openAiTimeout)
  timeout("PINECONE_TIMEOUT", raw.pineconeTimeout)
  if (raw.aiSuggestionsPerHour < 1 || raw.aiSuggestionsPerHour > 100_000) {
    problems.push("AI_SUGGESTIONS_PER_HOUR: must be between 1 and 100000")
  }
  if (raw.similarSearchesPerHour < 1 || raw.similarSearchesPerHour > 100_000) {
    problems.push("SIMILAR_SEARCHES_PER_HOUR: must be between 1 and 100000")
  }
  return problems
}

/** Reads and validates every AI setting; fails with every problem found, each naming its variable. */
export const loadSettings: Effect.Effect<AiSettings, InvalidConfiguration> = Effect.gen(function*() {
  const raw = yield* readSettings(settings, crossChecks)
  return raw
})

export const layer: Layer.Layer<AiConfig, InvalidConfiguration> = Layer.effect(AiConfig, loadSettings)

/** For tests: the defaults of `settings` (nothing configured: every AI feature off), overridden where given. */
export const layerTest = (overrides: Partial<AiSettings> = {}): Layer.Layer<AiConfig> =>
  Layer.effect(AiConfig, Effect.map(loadFrom(loadSettings, {}), (settings) => ({ ...settings, ...overrides })))
