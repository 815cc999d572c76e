import { randomUUID } from "node:crypto"
import { Context, Effect, Exit, Layer, Logger, Redacted, Scope } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder } from "effect/http-api"
import { RateLimiter } from "effect/persistence"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AiApi } from "../../src/api/Ai.ts"
import { withConventions } from "../../src/api/Api.ts"
import { Authentication, CurrentActor } from "../../src/api/Security.ts"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import * as AiConfig from "../../src/config/AiConfig.ts"
import { AiBadReply, AiUnavailable, type SuggestionRequest } from "../../src/domain/Ai.ts"
import type { Design, DesignId } from "../../src/domain/Design.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Ai from "../../src/features/ai/Ai.ts"
import { makeAiHandlers } from "../../src/features/ai/Http.ts"
import * as Designs from "../../src/features/designs/Designs.ts"
import * as Subscriptions from "../../src/features/subscriptions/Subscriptions.ts"
import * as RequestPipeline from "../../src/http/RequestPipeline.ts"
import * as RequestValidationLive from "../../src/http/RequestValidationLive.ts"
import * as RouteTable from "../../src/http/RouteTable.ts"
import { assertConforms } from "../support/contract.ts"
import { pipelineDependencies } from "../support/app.ts"
import { validDocument } from "../support/http.ts"
import { memoryLayer } from "../support/memory.ts"
import { attempt, failsWithProblem, ok, typedClientFor } from "../support/typedClient.ts"

/**
 * The AI group on the real request pipeline and conventions (a probe API holding only it, so
 * this runs before the group joins the Core API), on memory layers. The bearer token is taken
 * as the user id: authentication itself is tested elsewhere.
 */
const ProbeApi = withConventions(HttpApi.make("ai-probe").add(AiApi))

const TokenIsUserId = Layer.succeed(
  Authentication,
  Authentication.of({
    bearer: (httpEffect, { credential }) =>
      Effect.provideService(httpEffect, CurrentActor, {
        userId: Redacted.value(credential) as UserId,
        role: "user",
        sessionId: "s".repeat(22)
      })
  })
)

const failingModel = (error: AiUnavailable | AiBadReply) =>
  Layer.succeed(LanguageModel.LanguageModel, LanguageModel.LanguageModel.of({
    kind: "openai",
    description: "failing",
    suggest: () => Effect.fail(error),
    embed: () => Effect.fail(error)
  }))

const HttpApiBuilderLayer = () =>
  HttpApiBuilder.layer(ProbeApi).pipe(
    Layer.provide(makeAiHandlers(ProbeApi)),
    Layer.provideMerge(Layer.merge(RequestValidationLive.layer, TokenIsUserId))
  )

/** An app over the given model and index, with its services exposed to seed data. */
const makeApp = async (model: Layer.Layer<LanguageModel.LanguageModel>, vectors: Layer.Layer<VectorIndex.VectorIndex>) => {
  const scope = await Effect.runPromise(Scope.make())
  const services = await Effect.runPromise(
    Layer.buildWithScope(
      Layer.mergeAll(model, vectors, RateLimiter.layerStoreMemory, AiConfig.layerTest({ aiSuggestionsPerHour: 3 }))
        .pipe(Layer.provideMerge(memoryLayer({ logLevel: "None" }))),
      scope
    )
  )
  const app = HttpRouter.toWebHandler(
    Layer.mergeAll(
      HttpApiBuilderLayer(),
      RequestPipeline.layer(RouteTable.make(ProbeApi, [])).pipe(Layer.provide(pipelineDependencies))
    ).pipe(
      Layer.provideMerge(Layer.succeedContext(services)),
      Layer.provide(HttpServer.layerServices),
      // Quiet: the access log and the logged 5xx causes are tested elsewhere.
      Layer.provideMerge(Logger.layer([]))
    ),
    { disableLogger: true }
  )
  const seed = <A, E>(effect: Effect.Effect<A, E, any>) =>
    Effect.runPromise(effect.pipe(Effect.provide(services as Context.Context<any>)) as Effect.Effect<A, E>)
  /** Typed clients of the probe API; the caller's token is its user id. */
  const api = typedClientFor(ProbeApi, () => app)
  /** Raw requests: only for values the typed client's schemas refuse to send. */
  const send = async (method: string, path: string, userId: string, body?: unknown) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${userId}`, "content-type": "application/json" } }
    if (body !== undefined) init.body = JSON.stringify(body)
    const response = await app.handler(new Request(`http://test${path}`, init))
    const text = await response.text()
    assertConforms({ method: method, path, status: response.status, headers: response.headers, text })
    return { status: response.status, headers: response.headers, body: text === "" ? undefined : JSON.parse(text) }
  }
  const dispose = async () => {
    await app.dispose()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
  return { api, send, seed, dispose }
}

const newActor = (): Actor => ({ userId: randomUUID() as UserId, role: "user", sessionId: "s".repeat(22) })
const suggestion: SuggestionRequest = { productType: "t-shirt", prompt: "A retro surf club logo", style: "vintage" }

/** A raw answer is a problem of this status and code, quoting the request's id. */
const expectRawProblem = (result: { status: number; headers: Headers; body: any }, status: number, code: string) => {
  expect(result.status).toBe(status)
  expect(result.headers.get("content-type")).toContain("application/problem+json")
  expect(result.body).toMatchObject({ status, code, title: expect.any(String) })
  expect(result.body.requestId).toBe(result.headers.get("x-request-id"))
}

describe("AI endpoints on the fake model and the memory index", () => {
  let app: Awaited<ReturnType<typeof makeApp>>
  beforeAll(async () => void (app = await makeApp(LanguageModel.layerFake, VectorIndex.layerMemory)))
  afterAll(() => app.dispose())

  it("POST /api/v1/ai/suggestions answers suggestions, then 429 ai_rate_limited with Retry-After", async () => {
    const actor = newActor()
    const suggest = () => app.api(actor.userId).ai.suggest({ payload: suggestion })
    const answered = await ok(suggest(), 200)
    expect(answered.suggestions.length).toBeGreaterThan(0)
    expect(answered.suggestions[0]).toEqual({
      title: expect.any(String),
      text: expect.any(String),
      palette: expect.any(Array),
      fontFamily: expect.any(String)
    })
    await attempt(suggest())
    await attempt(suggest())
    const limited = await failsWithProblem(suggest(), "AiRateLimited", 429, "ai_rate_limited")
    expect(limited.error.retryAfter).toBeGreaterThan(0)
    expect(limited.response.headers.get("retry-after")).toBe(String(limited.error.retryAfter))
  })

  it("validates the request: prompt length, style, product, unknown fields", async () => {
    const user = newActor().userId
    // Raw: the typed client refuses these prompts, styles and unknown fields before sending them.
    const tooLong = await app.send("POST", "/api/v1/ai/suggestions", user, { ...suggestion, prompt: "x".repeat(501) })
    expectRawProblem(tooLong, 400, "validation_failed")
    expect(tooLong.body.errors).toEqual([expect.objectContaining({ path: "prompt", location: "body" })])
    const blank = await app.send("POST", "/api/v1/ai/suggestions", user, { ...suggestion, prompt: "   " })
    expect(blank.body.errors).toEqual([expect.objectContaining({ path: "prompt" })])
    const style = await app.send("POST", "/api/v1/ai/suggestions", user, { ...suggestion, style: "gothic", extra: 1 })
    expect(style.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["extra", "style"])
    const product = await failsWithProblem(
      app.api(user).ai.suggest({ payload: { ...suggestion, productType: "spaceship" } }),
      "ValidationFailed",
      400,
      "validation_failed"
    )
    expect(product.error.errors).toEqual([expect.objectContaining({ path: "productType" })])
  })

  it("GET /api/v1/designs/{id}/similar answers the owner's similar designs and 404 to anyone else", async () => {
    const owner = newActor()
    const other = newActor()
    const [first, second] = await app.seed(Effect.gen(function*() {
      yield* Subscriptions.setSubscription(owner.userId, "pro", "active")
      yield* Subscriptions.setSubscription(other.userId, "pro", "active")
      const designs: Array<Design> = []
      for (const actor of [owner, owner, other]) {
        const design = yield* Designs.createDesign(actor, {
          name: "Summer surf club",
          productType: "t-shirt",
          document: validDocument() as never
        })
        yield* Ai.indexDesign(design.id)
        designs.push(design)
      }
      return designs
    }))
    const similar = await ok(app.api(owner.userId).ai.similar({ params: { id: first!.id }, query: { limit: 5 } }), 200)
    expect(similar.data.map((d) => d.id)).toEqual([second!.id])
    expect(similar.data[0]).toMatchObject({ id: second!.id, ownerId: owner.userId, version: 1 })

    await failsWithProblem(app.api(other.userId).ai.similar({ params: { id: first!.id }, query: {} }), "NotFound", 404, "not_found")
    await failsWithProblem(app.api(owner.userId).ai.similar({ params: { id: randomUUID() as DesignId }, query: {} }), "NotFound", 404, "not_found")
    // Raw: the typed client refuses a limit over 20 before sending it.
    const badLimit = await app.send("GET", `/api/v1/designs/${first!.id}/similar?limit=21`, owner.userId)
    expectRawProblem(badLimit, 400, "validation_failed")
    expect(badLimit.body.errors).toEqual([expect.objectContaining({ path: "limit", location: "query" })])
  })
})

describe("AI endpoints when the providers are missing or failing", () => {
  it("answers 503 feature_unavailable without configuration", async () => {
    const app = await makeApp(LanguageModel.layerUnconfigured, VectorIndex.layerUnconfigured)
    try {
      const user = newActor()
      const suggest = await failsWithProblem(app.api(user.userId).ai.suggest({ payload: suggestion }), "FeatureUnavailable", 503, "feature_unavailable")
      expect(suggest.error.feature).toBe("ai_suggestions")
      const [design] = await app.seed(Effect.gen(function*() {
        yield* Subscriptions.setSubscription(user.userId, "free", "active")
        return [yield* Designs.createDesign(user, { name: "Surf", productType: "t-shirt", document: validDocument() as never })]
      }))
      const similar = await failsWithProblem(
        app.api(user.userId).ai.similar({ params: { id: design!.id }, query: {} }),
        "FeatureUnavailable",
        503,
        "feature_unavailable"
      )
      expect(similar.error.feature).toBe("similar_designs")
    } finally {
      await app.dispose()
    }
  })

  it("answers 503 service_unavailable when the provider is down and 502 bad_gateway for an unusable reply", async () => {
    const down = await makeApp(failingModel(new AiUnavailable({ provider: "openai", kind: "timeout" })), VectorIndex.layerMemory)
    const garbled = await makeApp(failingModel(new AiBadReply({ provider: "openai", detail: "not json" })), VectorIndex.layerMemory)
    try {
      const unavailable = await failsWithProblem(
        down.api(newActor().userId).ai.suggest({ payload: suggestion }),
        "ServiceUnavailable",
        503,
        "service_unavailable"
      )
      expect(unavailable.response.text).not.toContain("openai")
      const bad = await failsWithProblem(garbled.api(newActor().userId).ai.suggest({ payload: suggestion }), "BadGateway", 502, "bad_gateway")
      expect(bad.response.text).not.toContain("not json")
    } finally {
      await down.dispose()
      await garbled.dispose()
    }
  })
})
