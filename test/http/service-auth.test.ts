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
import { type Caller, failure, ok, typedClientFor } from "../support/typedClient.ts"

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

/** The probe's typed client: the client side of ServiceAuthentication sends the caller's key. */
const probe = typedClientFor(ProbeApi, () => app)
const ping = (caller: Caller) => probe(caller).internal.ping()

describe("service credentials", () => {
  it("open internal routes with any configured key", async () => {
    expect(await ok(ping({ serviceKey: KEY }), 200)).toEqual({ ok: true })
    await ok(ping({ serviceKey: OTHER_KEY }), 200)
  })

  it("refuse a missing, wrong or near-miss key with 401", async () => {
    for (const caller of [{}, { serviceKey: "" }, { serviceKey: "wrong" }, { serviceKey: `${KEY}x` }, { serviceKey: KEY.slice(1) }]) {
      const refused = await failure(ping(caller), "Unauthorized")
      expect(refused.status).toBe(401)
      expect(refused.code).toBe("unauthorized")
    }
  })

  it("refuse a user's bearer token with 403, even next to a wrong key", async () => {
    const refused = await failure(ping({ token: "eyJhbGciOiJIUzI1NiJ9.e30.x" }), "Forbidden")
    expect(refused.status).toBe(403)
    expect(refused.code).toBe("forbidden")
  })
})
