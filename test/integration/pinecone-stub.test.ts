import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Duration, Effect, Exit, Redacted, References } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"

/**
 * The real `@pinecone-database/pinecone` SDK, through the real capability layer, against a
 * loopback stub of a Pinecone index's data plane started here (a tiny namespaced index by
 * default), counting every request that reaches it.
 */

type Handler = (request: IncomingMessage, response: ServerResponse, body: any) => void

const stub = {
  url: "",
  hits: 0,
  bytesSent: 0,
  requests: [] as Array<{ path: string; apiKey: string | undefined; body: any }>,
  handle: (() => {}) as Handler
}

const json = (response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { "content-type": "application/json", ...headers })
  response.end(typeof value === "string" ? value : JSON.stringify(value))
}

/** A namespaced index in memory, answering like Pinecone's data plane. */
const namespaces = new Map<string, Map<string, Array<number>>>()
const cosine = (a: Array<number>, b: Array<number>) => {
  const dot = a.reduce((sum, v, i) => sum + v * (b[i] ?? 0), 0)
  const norm = Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0))
  return norm === 0 ? 0 : dot / norm
}
const realistic: Handler = (request, response, body) => {
  const namespace = String(body?.namespace ?? "")
  const vectors = namespaces.get(namespace) ?? new Map<string, Array<number>>()
  namespaces.set(namespace, vectors)
  switch (request.url) {
    case "/vectors/upsert":
      for (const record of body.vectors) vectors.set(record.id, record.values)
      return json(response, 200, { upsertedCount: body.vectors.length })
    case "/query": {
      const matches = [...vectors.entries()]
        .map(([id, values]) => ({ id, score: cosine(values, body.vector), values: [] }))
        .sort((a, b) => b.score - a.score)
        .slice(0, body.topK)
      return json(response, 200, { matches, namespace, usage: { readUnits: 1 } })
    }
    case "/vectors/delete":
      if (body.deleteAll === true) namespaces.delete(namespace)
      else for (const id of body.ids ?? []) vectors.delete(id)
      return json(response, 200, {})
    default:
      return json(response, 404, { code: 5, message: "Not Found" })
  }
}

const server = createServer((request, response) => {
  let raw = ""
  request.on("data", (chunk: Buffer) => void (raw += chunk.toString()))
  request.on("end", () => {
    stub.hits++
    const body = raw === "" ? undefined : JSON.parse(raw)
    stub.requests.push({ path: request.url ?? "", apiKey: request.headers["api-key"] as string | undefined, body })
    stub.handle(request, response, body)
  })
})

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})
beforeEach(() => {
  stub.hits = 0
  stub.bytesSent = 0
  stub.requests = []
  stub.handle = realistic
  namespaces.clear()
})

const layer = (options: Partial<VectorIndex.PineconeOptions> = {}) =>
  VectorIndex.layerPineconeWith({
    apiKey: Redacted.make("pc-test-key"),
    index: "designs",
    host: stub.url,
    timeout: Duration.millis(800),
    retries: 2,
    retryBase: Duration.millis(20),
    breaker: { failures: 100, openFor: Duration.minutes(1) },
    ...options
  })

const run = <A, E>(
  program: (index: VectorIndex.VectorIndex["Service"]) => Effect.Effect<A, E>,
  options: Partial<VectorIndex.PineconeOptions> = {}
) =>
  Effect.runPromise(
    Effect.flatMap(Effect.service(VectorIndex.VectorIndex), program).pipe(
      Effect.provide(layer(options)),
      Effect.provideService(References.MinimumLogLevel, "None")
    )
  )

const query = { namespace: "user:a", values: [1, 0, 0], topK: 5 }

describe("VectorIndex over the Pinecone SDK, against a loopback stub", () => {
  it("upserts and queries within one namespace only, sending the key", async () => {
    const result = await run((index) =>
      Effect.gen(function*() {
        yield* index.upsert({ namespace: "user:a", id: "a1", values: [1, 0, 0], metadata: { ownerId: "a", tags: ["x"] } })
        yield* index.upsert({ namespace: "user:a", id: "a2", values: [0.9, 0.1, 0], metadata: {} })
        yield* index.upsert({ namespace: "user:b", id: "b1", values: [1, 0, 0], metadata: {} })
        return yield* index.query(query)
      }))
    expect(result.map((m) => m.id)).toEqual(["a1", "a2"])
    expect(result[0]!.score).toBeCloseTo(1)
    expect(stub.requests[0]).toMatchObject({
      path: "/vectors/upsert",
      apiKey: "pc-test-key",
      body: { namespace: "user:a", vectors: [{ id: "a1", values: [1, 0, 0], metadata: { ownerId: "a", tags: ["x"] } }] }
    })
    expect(stub.requests[3]).toMatchObject({ path: "/query", body: { namespace: "user:a", topK: 5 } })
  })

  it("deletes ids and whole namespaces; deleting what is gone is fine", async () => {
    const result = await run((index) =>
      Effect.gen(function*() {
        yield* index.upsert({ namespace: "user:a", id: "a1", values: [1, 0, 0], metadata: {} })
        yield* index.upsert({ namespace: "user:a", id: "a2", values: [1, 0, 0], metadata: {} })
        yield* index.delete({ namespace: "user:a", ids: ["a1"] })
        const afterDelete = yield* index.query(query)
        yield* index.deleteNamespace("user:a")
        const afterNamespace = yield* index.query(query)
        stub.handle = (_, response) => json(response, 404, { code: 5, message: "Namespace not found" })
        yield* index.delete({ namespace: "user:gone", ids: ["x"] })
        yield* index.deleteNamespace("user:gone")
        return { afterDelete, afterNamespace }
      }))
    expect(result.afterDelete.map((m) => m.id)).toEqual(["a2"])
    expect(result.afterNamespace).toEqual([])
  })

  it("never calls Pinecone without a namespace", async () => {
    const exit = await run((index) => Effect.exit(index.query({ ...query, namespace: "" })))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(stub.hits).toBe(0)
  })

  it("turns malformed or off-schema replies into AiBadReply, without retrying", async () => {
    const replies = ["{\"matches\": [", { matches: "many" }, { matches: [{ id: 5, score: "high" }] }]
    for (const reply of replies) {
      stub.hits = 0
      stub.handle = (_, response) => json(response, 200, reply)
      const error = await run((index) => Effect.flip(index.query(query)))
      expect(error, JSON.stringify(reply)).toMatchObject({ _tag: "AiBadReply", provider: "pinecone" })
      expect(stub.hits).toBe(1)
    }
  })

  it("cuts off a huge reply early: AiBadReply, not the whole body in memory", async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    const total = 64 * 1024 * 1024
    stub.handle = (_, response) => {
      response.writeHead(200, { "content-type": "application/json" })
      response.write("{\"matches\": [")
      let aborted = false
      response.on("close", () => void (aborted = true))
      const pump = () => {
        while (!aborted && stub.bytesSent < total) {
          stub.bytesSent += chunk.length
          if (!response.write(chunk)) return void response.once("drain", pump)
        }
        if (!aborted) response.end("]}")
      }
      pump()
    }
    const error = await run((index) => Effect.flip(index.query(query)))
    expect(error).toMatchObject({ _tag: "AiBadReply", detail: "reply too large" })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stub.bytesSent).toBeLessThan(16 * 1024 * 1024)
  })

  it("gives up on a slow reply at the timeout: AiUnavailable within about the timeout", async () => {
    stub.handle = (request, response, body) => void setTimeout(() => realistic(request, response, body), 5_000).unref()
    const started = performance.now()
    const error = await run((index) => Effect.flip(index.query(query)), { timeout: Duration.millis(500) })
    const elapsed = performance.now() - started
    expect(error).toMatchObject({ _tag: "AiUnavailable", provider: "pinecone", kind: "timeout" })
    expect(elapsed).toBeGreaterThanOrEqual(450)
    expect(elapsed).toBeLessThan(1_500)
  })

  it("retries a 429 after backing off, then succeeds", async () => {
    stub.handle = (request, response, body) =>
      stub.hits === 1
        ? json(response, 429, { code: 8, message: "Too many requests" }, { "retry-after": "0" })
        : realistic(request, response, body)
    const result = await run((index) => index.query(query))
    expect(result).toEqual([])
    expect(stub.hits).toBe(2)
  })

  it("retries 5xx a bounded number of times, then fails AiUnavailable", async () => {
    stub.handle = (_, response) => json(response, 503, { code: 14, message: "Unavailable" })
    const error = await run((index) => Effect.flip(index.query(query)), { retries: 2 })
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "server_error" })
    expect(stub.hits).toBe(3)
  })

  it("does not retry a rejected key", async () => {
    stub.handle = (_, response) => json(response, 401, { code: 16, message: "Invalid API Key" })
    const error = await run((index) => Effect.flip(index.upsert({ namespace: "user:a", id: "a", values: [1], metadata: {} })))
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "rejected" })
    expect(stub.hits).toBe(1)
  })

  it("reports an unreachable host as AiUnavailable", async () => {
    const error = await run((index) => Effect.flip(index.query(query)), { host: "http://127.0.0.1:1", retries: 1 })
    expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "connection" })
  })

  it("opens the circuit after repeated failures: later calls fail fast without reaching the stub", async () => {
    stub.handle = (_, response) => json(response, 500, { code: 13, message: "Internal" })
    const outcome = await run((index) =>
      Effect.gen(function*() {
        yield* Effect.flip(index.query(query))
        yield* Effect.flip(index.upsert({ namespace: "user:a", id: "a", values: [1], metadata: {} }))
        const hitsWhenOpened = stub.hits
        const started = performance.now()
        const rejected = yield* Effect.forEach([1, 2, 3, 4, 5], () => Effect.flip(index.query(query)))
        return { hitsWhenOpened, rejected, elapsed: performance.now() - started }
      }), { retries: 1, breaker: { failures: 2, openFor: Duration.minutes(1) } })
    expect(outcome.hitsWhenOpened).toBe(4)
    expect(stub.hits).toBe(4)
    for (const error of outcome.rejected) expect(error).toMatchObject({ _tag: "AiUnavailable", kind: "circuit_open" })
    expect(outcome.elapsed).toBeLessThan(100)
  })
})
