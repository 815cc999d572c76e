import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Duration, Effect, Redacted, References } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import type { SuggestionInput } from "../../src/domain/Ai.ts"

/**
 * The real `openai` SDK, through the real capability layer, against a loopback stub of the
 * OpenAI HTTP API started here: what each reply does to a call, counted in stub hits.
 */

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void

const stub = {
  url: "",
  hits: 0,
  bytesSent: 0,
  requests: [] as Array<{ path: string; authorization: string | undefined; body: any }>,
  handle: (() => {}) as Handler
}

const server = createServer((request, response) => {
  let body = ""
  request.on("data", (chunk: Buffer) => void (body += chunk.toString()))
  request.on("end", () => {
    stub.hits++
    stub.requests.push({ path: request.url ?? "", authorization: request.headers.authorization, body: JSON.parse(body || "null") })
    stub.handle(request, response, body)
  })
})

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  stub.hits = 0
  stub.bytesSent = 0
  stub.requests = []
})

const json = (response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(typeof value === "string" ? value : JSON.stringify(value))
}

const completion = (content: string) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "gpt-test",
  choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content, refusal: null } }]
})

const goodSuggestion = { title: "Surf club", text: "Surf club 1987", palette: ["#112233", "#ffcc00"], fontFamily: "Pacifico" }
const goodReply = completion(JSON.stringify({ suggestions: [goodSuggestion, { ...goodSuggestion, title: "Waves" }] }))

const input: SuggestionInput = {
  productType: "t-shirt",
  productName: "T-shirt",
  printableWidthMm: 300,
  printableHeightMm: 400,
  prompt: "A retro surf club logo",
  style: "vintage"
}

const layer = (options: Partial<LanguageModel.OpenAiOptions> = {}) =>
  LanguageModel.layerOpenAiWith({
    apiKey: Redacted.make("sk-test-key"),
    baseUrl: stub.url,
    model: "gpt-test",
    embeddingModel: "embed-test",
    timeout: Duration.millis(800),
    retries: 2,
    retryBase: Duration.millis(20),
    breaker: { failures: 100, openFor: Duration.minutes(1) },
    ...options
  })

/** Runs `program` against a fresh capability (its own circuit breaker). */
const run = <A, E>(
  program: (model: LanguageModel.LanguageModel["Service"]) => Effect.Effect<A, E>,
  options: Partial<LanguageModel.OpenAiOptions> = {}
) =>
  Effect.runPromise(
    Effect.flatMap(Effect.service(LanguageModel.LanguageModel), program).pipe(
      Effect.provide(layer(options)),
      Effect.provideService(References.MinimumLogLevel, "None")
    )
  )

const failureOf = <A, E>(effect: Effect.Effect<A, E>) => Effect.flip(effect)

describe("LanguageModel over the openai SDK, against a loopback stub", () => {
  it("decodes a normal structured reply, sending a strict JSON schema and the key", async () => {
    stub.handle = (_, response) => json(response, 200, goodReply)
    const suggestions = await run((model) => model.suggest(input))
    expect(suggestions).toEqual([goodSuggestion, { ...goodSuggestion, title: "Waves" }])
    expect(stub.hits).toBe(1)
    const sent = stub.requests[0]!
    expect(sent.path).toBe("/v1/chat/completions")
    expect(sent.authorization).toBe("Bearer sk-test-key")
    expect(sent.body.model).toBe("gpt-test")
    expect(sent.body.response_format.type).toBe("json_schema")
    expect(sent.body.response_format.json_schema.strict).toBe(true)
    expect(JSON.stringify(sent.body.messages)).toContain("A retro surf club logo")
  })

  it("answers embeddings as float vectors", async () => {
    stub.handle = (_, response) =>
      json(response, 200, { object: "list", model: "embed-test", data: [{ object: "embedding", index: 0, embedding: [0.1, -0.2, 0.3] }] })
    expect(await run((model) => model.embed("Surf club"))).toEqual([0.1, -0.2, 0.3])
    expect(stub.requests[0]!.path).toBe("/v1/embeddings")
    expect(stub.requests[0]!.body).toMatchObject({ model: "embed-test", input: "Surf club", encoding_format: "float" })
  })

  it("turns a reply that is not JSON into AiBadReply, without retrying", async () => {
    stub.handle = (_, response) => json(response, 200, "{\"choices\": [")
    const error = await run((model) => failureOf(model.suggest(input)))
    expect(error).toMatchObject({ _tag: "AiBadReply", provider: "openai" })
    expect(stub.hits).toBe(1)
  })

  it("turns content that is not JSON, or violates the schema, into AiBadReply", async () => {
    const contents = [
      "Sure! Here are some ideas: ...",
      JSON.stringify({ suggestions: [{ ...goodSuggestion, palette: ["red"] }] }),
      JSON.stringify({ suggestions: [{ ...goodSuggestion, fontFamily: "Comic Sans" }] }),
      JSON.stringify({ suggestions: [{ title: "missing fields" }] }),
      JSON.stringify({ suggestions: [] }),
      JSON.stringify({ suggestions: Array.from({ length: 6 }, () => goodSuggestion) })
    ]
    for (const content of contents) {
      stub.handle = (_, response) => json(response, 200, completion(content))
      const error = await run((model) => failureOf(model.suggest(input)))
      expect(error, content).toMatchObject({ _tag: "AiBadReply" })
    }
    stub.handle = (_, response) => json(response, 200, { data: [{ embedding: ["x"] }] })
    expect(await run((model) => failureOf(model.embed("x")))).toMatchObject({ _tag: "AiBadReply" })
    stub.handle = (_, response) => json(response, 200, { unexpected: true })
    expect(await run((model) => failureOf(model.suggest(input)))).toMatchObject({ _tag: "AiBadReply" })
  })

  it("refuses a refusal and a cut-off reply", async () => {
    stub.handle = (_, response) =>
      json(response, 200, { choices: [{ finish_reason: "stop", message: { content: null, refusal: "I can't" } }] })
    expect(await run((model) => failureOf(model.suggest(input)))).toMatchObject({ _tag: "AiBadReply", detail: "the model refused" })
    stub.handle = (_, response) =>
      json(response, 200, { choices: [{ finish_reason: "length", message: { content: "{\"suggestions\": [" } }] })
    expect(await run((model) => failureOf(model.suggest(input)))).toMatchObject({ _tag: "AiBadReply" })
  })

  it("cuts off a huge streamed reply early: AiBadReply, not the whole body in memory", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    const total = 64 * 1024 * 1024
    stub.handle = (_, response) => {
      response.writeHead(200, { "content-type": "application/json" })
      response.write("{\"choices\": [{\"message\": {\"content\": \"")
      let aborted = false
      response.on("close", () => void (aborted = true))
      const pump = () => {
        while (!aborted && stub.bytesSent < total) {
          stub.bytesSent += chunk.length
          if (!response.write(chunk)) return void response.once("drain", pump)
        }
        if (!aborted) response.end("\"}}]}")
      }
      pump()
    }
    const error = await run((model) => failureOf(model.suggest(input)))
    expect(error).toMatchObject({ _tag: "AiBadReply", detail: expect.stringContaining("larger than") })
    expect(stub.hits).toBe(1)
    // The client dropped the connection long before the 64 MiB were sent.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stub.bytesSent).toBeLessThan(16 * 1024 * 1024)
  })

  it("refuses a reply whose declared length is over the cap without reading it", async () => {
    stub.handle = (_, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": String(10 * 1024 * 1024) })
      response.write("{")
    }
    const error = await run((model) => failureOf(model.suggest(input)))
    expect(error).toMatchObject({ _tag: "AiBadReply" })
  })

  it("gives up on a slow reply at the timeout: AiUnavailable within about the timeout", async () => {
    stub.handle = (_, response) => void setTimeout(() => json(response, 200, goodReply), 5_000).unref()
    const started = performance.now()
    const error = await run((model) => failureOf(model.suggest(input)), { timeout: Duration.millis(500) })
    const elapsed = performance.now() - started
    expect(error).toMatchObject({ _tag: "AiUnavailable", provider: "openai", kind: "timeout" })
    expect(elapsed).toBeGreaterThanOrEqual(450)
    expect(elapsed).toBeLessThan(1_500)
  })

  it("gives up on a reply whose body trickles in beyond the timeout", async () => {
    stub.handle = (_, response) => {
      response.writeHead(200, { "content-type": "application/json" })
      response.write("{\"choices\": [")
      setTimeout(() => response.end("]}"), 5_000).unref()
    }
    const started = performance.now()
    const error = await run((model) => failureOf(model.suggest(input)), { timeout: Duration.millis(500) })
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "timeout" })
    expect(performance.now() - started).toBeLessThan(1_500)
  })

  it("retries a 429 after backing off, then succeeds", async () => {
    stub.handle = (_, response) =>
      stub.hits === 1
        ? json(response, 429, { error: { message: "Rate limit reached", type: "requests" } }, { "retry-after-ms": "50" })
        : json(response, 200, goodReply)
    const started = performance.now()
    const suggestions = await run((model) => model.suggest(input))
    expect(suggestions.length).toBe(2)
    expect(stub.hits).toBe(2)
    expect(performance.now() - started).toBeGreaterThanOrEqual(45)
  })

  it("retries 5xx a bounded number of times, then fails AiUnavailable", async () => {
    stub.handle = (_, response) => json(response, 503, { error: { message: "overloaded" } })
    const error = await run((model) => failureOf(model.suggest(input)), { retries: 2 })
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "server_error" })
    expect(stub.hits).toBe(3)
  })

  it("does not wait for a long Retry-After: fails at once with the hint", async () => {
    stub.handle = (_, response) => json(response, 429, { error: { message: "quota" } }, { "retry-after": "60" })
    const started = performance.now()
    const error = await run((model) => failureOf(model.suggest(input)))
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "rate_limited", retryAfterSeconds: 60 })
    expect(stub.hits).toBe(1)
    expect(performance.now() - started).toBeLessThan(500)
  })

  it("does not retry a rejected key", async () => {
    stub.handle = (_, response) => json(response, 401, { error: { message: "Incorrect API key provided" } })
    const error = await run((model) => failureOf(model.suggest(input)))
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "rejected" })
    expect(stub.hits).toBe(1)
  })

  it("reports an unreachable server as AiUnavailable", async () => {
    const error = await run((model) => failureOf(model.suggest(input)), {
      baseUrl: "http://127.0.0.1:1/v1",
      retries: 1
    })
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "connection" })
  })

  it("opens the circuit after repeated failures: later calls fail fast without reaching the stub", async () => {
    stub.handle = (_, response) => json(response, 500, { error: { message: "boom" } })
    const outcome = await run((model) =>
      Effect.gen(function*() {
        const first = yield* failureOf(model.suggest(input))
        const second = yield* failureOf(model.embed("x"))
        const hitsWhenOpened = stub.hits
        const started = performance.now()
        const rejected = yield* Effect.forEach([1, 2, 3, 4, 5], () => failureOf(model.suggest(input)))
        return { first, second, hitsWhenOpened, rejected, elapsed: performance.now() - started }
      }), { retries: 1, breaker: { failures: 2, openFor: Duration.minutes(1) } })
    expect(outcome.first).toMatchObject({ _tag: "AiUnavailable", kind: "server_error" })
    expect(outcome.second).toMatchObject({ _tag: "AiUnavailable", kind: "server_error" })
    expect(outcome.hitsWhenOpened).toBe(4)
    expect(stub.hits).toBe(4)
    for (const error of outcome.rejected) {
      expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "circuit_open" })
      expect((error as { retryAfterSeconds?: number }).retryAfterSeconds).toBeGreaterThan(0)
    }
    expect(outcome.elapsed).toBeLessThan(100)
  })

  it("lets a probe through once the circuit's open time is over, and closes it on success", async () => {
    let healthy = false
    stub.handle = (_, response) => (healthy ? json(response, 200, goodReply) : json(response, 500, { error: {} }))
    const outcome = await run((model) =>
      Effect.gen(function*() {
        yield* failureOf(model.suggest(input))
        const whileOpen = yield* failureOf(model.suggest(input))
        healthy = true
        yield* Effect.sleep(Duration.millis(250))
        const probe = yield* model.suggest(input)
        const after = yield* model.suggest(input)
        return { whileOpen, probe, after }
      }), { retries: 0, breaker: { failures: 1, openFor: Duration.millis(200) } })
    expect(outcome.whileOpen).toMatchObject({ kind: "circuit_open" })
    expect(outcome.probe.length).toBe(2)
    expect(outcome.after.length).toBe(2)
    expect(stub.hits).toBe(3)
  })

  it("does not count bad replies against the provider's health", async () => {
    stub.handle = (_, response) => json(response, 200, completion("not json"))
    const errors = await run(
      (model) => Effect.forEach([1, 2, 3], () => failureOf(model.suggest(input))),
      { breaker: { failures: 1, openFor: Duration.minutes(1) } }
    )
    expect(errors.map((e) => e._tag)).toEqual(["AiBadReply", "AiBadReply", "AiBadReply"])
    expect(stub.hits).toBe(3)
  })
})
