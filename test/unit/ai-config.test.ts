import { ConfigProvider, Duration, Effect, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { loadSettings } from "../../src/config/AiConfig.ts"

const load = (env: Record<string, string>) =>
  Effect.runPromise(
    loadSettings.pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env)),
      Effect.result
    )
  )

const problemsOf = async (env: Record<string, string>) => {
  const result = await load(env)
  if (result._tag === "Success") throw new Error("expected the configuration to be refused")
  return result.failure.problems
}

describe("AI configuration", () => {
  it("turns every AI feature off with nothing set", async () => {
    const result = await load({})
    if (result._tag === "Failure") throw result.failure
    const settings = result.success
    expect(Option.isNone(settings.openAiApiKey)).toBe(true)
    expect(Option.isNone(settings.pineconeApiKey)).toBe(true)
    expect(settings.openAiModel).toBe("gpt-4o-mini")
    expect(settings.openAiEmbeddingModel).toBe("text-embedding-3-small")
    expect(Duration.toSeconds(settings.openAiTimeout)).toBe(20)
    expect(settings.pineconeIndex).toBe("designs")
    expect(settings.aiSuggestionsPerHour).toBe(20)
    expect(settings.similarSearchesPerHour).toBe(60)
  })

  it("reads every variable, keeping keys redacted", async () => {
    const result = await load({
      OPENAI_API_KEY: "sk-real",
      OPENAI_BASE_URL: "http://127.0.0.1:11434/v1",
      OPENAI_MODEL: "llama3.2",
      OPENAI_EMBEDDING_MODEL: "nomic-embed-text",
      OPENAI_TIMEOUT: "5 seconds",
      PINECONE_API_KEY: "pc-real",
      PINECONE_INDEX_HOST: "designs-abc123.svc.aped-1234.pinecone.io",
      PINECONE_INDEX: "designs-prod",
      PINECONE_TIMEOUT: "2 seconds",
      AI_SUGGESTIONS_PER_HOUR: "50",
      SIMILAR_SEARCHES_PER_HOUR: "120"
    })
    if (result._tag === "Failure") throw result.failure
    const settings = result.success
    expect(Option.map(settings.openAiApiKey, Redacted.value)).toEqual(Option.some("sk-real"))
    expect(String(settings.openAiApiKey)).not.toContain("sk-real")
    expect(settings.openAiBaseUrl).toEqual(Option.some("http://127.0.0.1:11434/v1"))
    expect(Duration.toMillis(settings.openAiTimeout)).toBe(5_000)
    expect(settings.pineconeIndexHost).toEqual(Option.some("designs-abc123.svc.aped-1234.pinecone.io"))
    expect(settings.aiSuggestionsPerHour).toBe(50)
    expect(settings.similarSearchesPerHour).toBe(120)
  })

  it("names every bad variable at once", async () => {
    const problems = await problemsOf({
      OPENAI_TIMEOUT: "soon",
      AI_SUGGESTIONS_PER_HOUR: "many",
      PINECONE_TIMEOUT: "later"
    })
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["AI_SUGGESTIONS_PER_HOUR", "OPENAI_TIMEOUT", "PINECONE_TIMEOUT"])
  })

  it("refuses inconsistent or out-of-range settings, by variable", async () => {
    const problems = await problemsOf({
      OPENAI_BASE_URL: "ftp://example.com",
      PINECONE_INDEX_HOST: "https://",
      PINECONE_INDEX: "Designs_Prod",
      OPENAI_TIMEOUT: "10 millis",
      AI_SUGGESTIONS_PER_HOUR: "0",
      SIMILAR_SEARCHES_PER_HOUR: "100001",
      OPENAI_API_KEY: " "
    })
    const names = problems.map((p) => p.split(":")[0])
    expect(names).toEqual(expect.arrayContaining([
      "OPENAI_API_KEY",
      "OPENAI_BASE_URL",
      "PINECONE_INDEX_HOST",
      "PINECONE_INDEX",
      "OPENAI_TIMEOUT",
      "AI_SUGGESTIONS_PER_HOUR",
      "SIMILAR_SEARCHES_PER_HOUR"
    ]))
    // A host without a key would silently do nothing: say so.
    expect(problems).toContain("PINECONE_INDEX_HOST: set PINECONE_API_KEY too (any value for Pinecone Local)")
  })
})
