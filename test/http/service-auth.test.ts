import { Effect, Layer, Redacted, Schema } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { afterAll, describe, expect, it } from "vitest"
import { withConventions } from "../../src/api/Api.ts"
import { ServiceAuthentication } from "../../src/api/Security.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import * as ServiceAuthenticationLive from "../../src/features/auth/ServiceAuthenticationLive.ts"
import * as RequestPipeline from "../../src/http/RequestPipeline.ts"
import * as RequestValidationLive from "../../src/http/RequestValidationLive.ts"
import * as RouteTable from "../../src/http/RouteTable.ts"
import { pipelineDependencies } from "../support/app.ts"

/** An internal route guarded exactly as the integration layer's routes are. */
class InternalProbe extends HttpApiGroup.make("internal")
  .add(HttpApiEndpoint.get("ping", "/internal/ping", { success: Schema.Struct({ ok: Schema.Boolean }) }))
  .middleware(ServiceAuthentication)
{}
const ProbeApi = withConventions(HttpApi.make("probe").add(InternalProbe))

const KEY = "k".repeat(40)
const OTHER_KEY = "z".repeat(40)
const app = HttpRouter.toWebHandler(
  Layer.mergeAll(
    HttpApiBuilder.layer(ProbeApi).pipe(
      Layer.provide(HttpApiBuilder.group(ProbeApi, "internal", (h) => Effect.succeed(h.handle("ping", () => Effect.succeed({ ok: true }))))),
      Layer.provideMerge(Layer.mergeAll(RequestValidationLive.layer, ServiceAuthenticationLive.layer))
    ),
    RequestPipeline.layer(RouteTable.make(ProbeApi, [])).pipe(Layer.provide(pipelineDependencies))
  ).pipe(
    Layer.provide(AppConfig.layerTest({ serviceApiKeys: [Redacted.make(KEY), Redacted.make(OTHER_KEY)] })),
    Layer.provide(HttpServer.layerServices)
  ),
  { disableLogger: true }
)
afterAll(() => app.dispose())

const ping = async (headers: Record<string, string>) => {
  const response = await app.handler(new Request("http://test/internal/ping", { headers }))
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}

describe("service credentials", () => {
  it("open internal routes with any configured key", async () => {
    expect(await ping({ "x-service-key": KEY })).toEqual({ status: 200, body: { ok: true } })
    expect((await ping({ "x-service-key": OTHER_KEY })).status).toBe(200)
  })

  it("refuse a missing, wrong or near-miss key with 401", async () => {
    for (const headers of [{}, { "x-service-key": "" }, { "x-service-key": "wrong" }, { "x-service-key": `${KEY}x` }, { "x-service-key": KEY.slice(1) }]) {
      const result = await ping(headers)
      expect(result.status).toBe(401)
      expect(result.body["code"]).toBe("unauthorized")
    }
  })

  it("refuse a user's bearer token with 403, even next to a wrong key", async () => {
    const result = await ping({ authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" })
    expect(result.status).toBe(403)
    expect(result.body["code"]).toBe("forbidden")
  })
})
