import { Duration, Effect, Exit, Scope } from "effect"
import { HttpClient } from "effect/http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as CoreClient from "../../src/client/CoreClient.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { sleep } from "../support/faults.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { type Exchange, handlerHttpClient, ok, typedClient } from "../support/typedClient.ts"

/**
 * The client package against the API, as a frontend uses it: access tokens that really expire
 * (ACCESS_TOKEN_TTL of a second, plus the server's 5 s clock tolerance), refreshed once for calls
 * made together, and creates that carry their Idempotency-Key through the refresh.
 */
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
const exchanges: Array<Exchange> = []

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config: { accessTokenTtl: Duration.seconds(1) } })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const transport = handlerHttpClient(() => app, { onExchange: (exchange) => exchanges.push(exchange) })

describe("the client package over HTTP", () => {
  it("two creates with an expired token share one refresh, then each creates once", async () => {
    const { tokens } = await ok(
      typedClient(() => app)().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Frontend" } }),
      201
    )
    // The frontend's token storage.
    const stored = { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }
    let refreshed = 0
    const api = Effect.runSync(CoreClient.make({
      baseUrl: "http://test",
      accessToken: () => stored.accessToken,
      refresh: {
        refreshToken: () => stored.refreshToken,
        onRefreshed: (pair) => {
          refreshed++
          Object.assign(stored, pair)
        }
      }
    }).pipe(Effect.provideService(HttpClient.HttpClient, transport)))
    await sleep(6_500)

    exchanges.length = 0
    const payload = { name: "Mug", productType: "mug" as const, document: validDocument() }
    const designs = await Promise.all([
      Effect.runPromise(api.designs.create({ payload })),
      Effect.runPromise(api.designs.create({ payload }))
    ])
    expect(designs[0].id).not.toBe(designs[1].id)
    expect(refreshed).toBe(1)
    expect(stored.accessToken).not.toBe(tokens.accessToken)

    const creates = exchanges.filter((e) => e.method === "POST" && e.path === "/api/v1/designs")
    expect(creates.map((e) => e.status).sort()).toEqual([201, 201, 401, 401])
    expect(exchanges.filter((e) => e.path === "/api/v1/auth/refresh")).toHaveLength(1)
    const list = await Effect.runPromise(api.designs.list({ query: {} }))
    expect(list.data).toHaveLength(2)
  }, 30_000)
})
