import { Effect, Layer, Logger, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { afterAll, describe, expect, it } from "vitest"
import { withConventions } from "../../src/api/Api.ts"
import * as RequestPipeline from "../../src/http/RequestPipeline.ts"
import * as RequestValidationLive from "../../src/http/RequestValidationLive.ts"
import * as RouteTable from "../../src/http/RouteTable.ts"
import { pipelineDependencies } from "../support/app.ts"

/** A probe API built with the very conventions and pipeline of the Core API. */
class ProbeGroup extends HttpApiGroup.make("probe")
  .add(
    HttpApiEndpoint.post("create", "/items", {
      payload: Schema.Struct({
        name: Schema.String.check(Schema.isMinLength(1)),
        count: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 })),
        tags: Schema.Array(Schema.String).check(Schema.isMaxLength(2))
      }),
      success: Schema.Struct({ name: Schema.String })
    }),
    HttpApiEndpoint.get("get", "/items/:id", {
      params: { id: Schema.String.check(Schema.isUUID()) },
      query: { limit: Schema.optional(Schema.NumberFromString.check(Schema.isBetween({ minimum: 1, maximum: 100 }))) },
      success: Schema.Struct({ id: Schema.String })
    }),
    HttpApiEndpoint.get("defect", "/defect"),
    HttpApiEndpoint.get("undeclared", "/undeclared")
  )
  .prefix("/probe")
{}

const ProbeApi = withConventions(HttpApi.make("probe").add(ProbeGroup))

class UndeclaredDatabaseError extends Schema.TaggedError<UndeclaredDatabaseError>()("UndeclaredDatabaseError", {
  message: Schema.String
}) {}

const ProbeHandlers = HttpApiBuilder.group(ProbeApi, "probe", (handlers) =>
  Effect.succeed(
    handlers
      .handle("create", ({ payload }) => Effect.succeed({ name: payload.name }))
      .handle("get", ({ params }) => Effect.succeed({ id: params.id }))
      .handle("defect", () => Effect.die(new Error("secret internal detail: password=hunter2")))
      .handle("undeclared", () =>
        Effect.fail(new UndeclaredDatabaseError({ message: "relation \"users\" does not exist" })) as unknown as Effect.Effect<void>)
  ))

const logged: Array<string> = []
const CaptureLogs = Logger.layer([Logger.make((entry) => void logged.push(JSON.stringify(entry.message) + String(entry.cause)))])

const app = HttpRouter.toWebHandler(
  Layer.mergeAll(
    HttpApiBuilder.layer(ProbeApi).pipe(Layer.provide(ProbeHandlers), Layer.provideMerge(RequestValidationLive.layer)),
    RequestPipeline.layer(RouteTable.make(ProbeApi, [])).pipe(Layer.provide(pipelineDependencies))
  ).pipe(Layer.provideMerge(CaptureLogs), Layer.provide(HttpServer.layerServices)),
  { disableLogger: true }
)
afterAll(() => app.dispose())

const send = async (path: string, init: RequestInit = {}) => {
  const response = await app.handler(new Request(`http://test${path}`, init))
  const text = await response.text()
  return { response, text, body: text === "" ? undefined : JSON.parse(text) as Record<string, any> }
}

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body)
})

const expectProblem = (result: Awaited<ReturnType<typeof send>>, status: number, code: string) => {
  expect(result.response.status).toBe(status)
  expect(result.response.headers.get("content-type")).toContain("application/problem+json")
  // One type per code, wherever the problem is raised (the router, the pipeline, an endpoint).
  expect(result.body).toMatchObject({ status, code, title: expect.any(String), type: `urn:customify:problem:${code}` })
  expect(result.body?.["requestId"]).toBe(result.response.headers.get("x-request-id"))
}

describe("one error format", () => {
  it("answers an unknown route with a 404 problem", async () => {
    const result = await send("/nowhere")
    expectProblem(result, 404, "not_found")
    expect(result.body?.["detail"]).toEqual(expect.any(String))
  })

  it("answers a wrong method on a known path with 405 and Allow", async () => {
    const result = await send("/probe/items", { method: "DELETE" })
    expectProblem(result, 405, "method_not_allowed")
    expect(result.response.headers.get("allow")).toBe("POST")
  })

  it("answers a non-JSON content type with 415", async () => {
    const result = await send("/probe/items", { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" })
    expectProblem(result, 415, "unsupported_media_type")
  })

  it("answers malformed JSON with a 400 problem", async () => {
    const result = await send("/probe/items", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{\"name\": "
    })
    expectProblem(result, 400, "validation_failed")
    expect(result.body?.["errors"]).toEqual([{ path: "body", location: "body", message: "Expected a valid JSON body" }])
  })

  it("lists every invalid field of a body, unknown properties included", async () => {
    const result = await send("/probe/items", json({ name: "", count: 99, tags: ["a", "b", "c"], role: "admin" }))
    expectProblem(result, 400, "validation_failed")
    const errors = result.body?.["errors"] as Array<{ path: string; location: string; message: string }>
    expect(errors.map((e) => e.path).sort()).toEqual(["count", "name", "role", "tags"])
    expect(errors.every((e) => e.location === "body" && e.message.length > 0)).toBe(true)
  })

  it("names a missing field and a bad path parameter and query parameter", async () => {
    const missing = await send("/probe/items", json({ name: "x", tags: [] }))
    expectProblem(missing, 400, "validation_failed")
    expect(missing.body?.["errors"]).toEqual([{ path: "count", location: "body", message: expect.any(String) }])

    const badParams = await send("/probe/items/not-a-uuid?limit=1000")
    expectProblem(badParams, 400, "validation_failed")
    expect(badParams.body?.["errors"]).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: "id", location: "path" })
    ]))
    const badQuery = await send("/probe/items/3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a?limit=1000")
    expect(badQuery.body?.["errors"]).toEqual([expect.objectContaining({ path: "limit", location: "query" })])
  })

  it("ignores unknown query parameters", async () => {
    const result = await send("/probe/items/3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a?_=123")
    expect(result.response.status).toBe(200)
  })

  it("hides a defect behind a 500 problem and logs it", async () => {
    const result = await send("/probe/defect")
    expectProblem(result, 500, "internal_error")
    expect(result.text).not.toContain("hunter2")
    expect(result.text).not.toContain("secret")
    expect(logged.some((line) => line.includes("hunter2"))).toBe(true)
  })

  it("hides an undeclared failure behind a 500 problem", async () => {
    const result = await send("/probe/undeclared")
    expectProblem(result, 500, "internal_error")
    expect(result.text).not.toContain("relation")
    expect(result.text).not.toContain("Undeclared")
  })
})

describe("X-Request-Id", () => {
  it("echoes a well-formed request id on success and failure", async () => {
    const ok = await send("/probe/items/3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a", { headers: { "x-request-id": "req-abc-12345" } })
    expect(ok.response.headers.get("x-request-id")).toBe("req-abc-12345")
    const failed = await send("/nowhere", { headers: { "x-request-id": "req-abc-67890" } })
    expect(failed.response.headers.get("x-request-id")).toBe("req-abc-67890")
    expect(failed.body?.["requestId"]).toBe("req-abc-67890")
  })

  it("replaces a malformed or oversized request id with a fresh UUID", async () => {
    for (const header of ["has spaces in it", "x".repeat(500), "<script>alert(1)</script>", "short"]) {
      const result = await send("/nowhere", { headers: { "x-request-id": header } })
      expect(result.response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  it("generates distinct ids when none is sent", async () => {
    const a = await send("/nowhere")
    const b = await send("/nowhere")
    expect(a.response.headers.get("x-request-id")).not.toBe(b.response.headers.get("x-request-id"))
  })
})
