import { Effect } from "effect"
import { HttpClient, HttpClientError, HttpClientRequest, HttpClientResponse } from "effect/http"
import { describe, expect, it } from "vitest"
import * as CoreClient from "../../src/client/CoreClient.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import { validDocument } from "../support/http.ts"

/**
 * The client package against a scripted server: which tokens it sends, when it refreshes, which
 * Idempotency-Key each attempt carries. (test/http/core-client.test.ts runs it against the API.)
 */

interface Seen {
  readonly method: string
  readonly path: string
  readonly authorization: string | undefined
  readonly idempotencyKey: string | undefined
}

/** The problem the server sends; a 401's `type` and `title` are the `unauthorized` problem's whatever its code. */
const problem = (status: number, code: string, extra: Record<string, unknown> = {}) =>
  new Response(JSON.stringify({
    type: `urn:customify:problem:${status === 401 && code !== "invalid_refresh_token" ? "unauthorized" : code}`,
    title: status === 401 && code !== "invalid_refresh_token" ? "Authentication required" : code,
    status,
    code,
    ...extra
  }), {
    status,
    headers: { "content-type": "application/problem+json" }
  })

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

const jwt = (name: string) => `h.${name}.s`

/**
 * A server whose valid access token is the last one it issued; `refreshes` counts refreshes.
 * `on401` says what an outdated token gets.
 */
const scriptedServer = (
  options: {
    readonly on401?: string
    readonly refreshFails?: boolean
    readonly alwaysExpired?: boolean
    /** The first refresh meets an outage (503), the later ones succeed. */
    readonly firstRefreshUnavailable?: boolean
  } = {}
) => {
  const seen: Array<Seen> = []
  let refreshes = 0
  let valid = jwt("first")
  const handle = async (request: HttpClientRequest.HttpClientRequest, url: URL): Promise<Response> => {
    const authorization = request.headers["authorization"]
    seen.push({ method: request.method, path: url.pathname, authorization, idempotencyKey: request.headers["idempotency-key"] })
    if (url.pathname === "/api/v1/auth/refresh") {
      refreshes++
      await new Promise((resolve) => setTimeout(resolve, 20))
      if (options.refreshFails === true) return problem(401, "invalid_refresh_token")
      if (options.firstRefreshUnavailable === true && refreshes === 1) return problem(503, "service_unavailable")
      valid = jwt(`refreshed${refreshes}`)
      return json(200, { tokens: { accessToken: valid, refreshToken: `r.${refreshes}`, tokenType: "Bearer", expiresIn: 900 } })
    }
    if (options.alwaysExpired === true || authorization !== `Bearer ${valid}`) return problem(401, options.on401 ?? "token_expired")
    if (url.pathname === "/api/v1/designs" && request.method === "GET") return json(200, { data: [], nextCursor: null })
    return problem(402, "subscription_inactive", { subscriptionStatus: "none" })
  }
  const httpClient = HttpClient.make((request, url) =>
    Effect.tryPromise({
      try: async () => HttpClientResponse.fromWeb(request, await handle(request, url)),
      catch: (cause) => new HttpClientError.HttpClientError({ reason: new HttpClientError.TransportError({ request, cause }) })
    }))
  return { seen, httpClient, refreshes: () => refreshes }
}

/** A client whose stored tokens start expired (`jwt("old")`) and are replaced on refresh. */
const clientOf = (server: ReturnType<typeof scriptedServer>, withRefresh = true) => {
  const stored = { accessToken: jwt("old"), refreshToken: "r.0" }
  const saved: Array<CoreClient.TokenPair> = []
  const api = Effect.runSync(CoreClient.make({
    baseUrl: "http://api.test",
    accessToken: () => stored.accessToken,
    ...(withRefresh
      ? {
        refresh: {
          refreshToken: Effect.sync(() => stored.refreshToken),
          onRefreshed: async (tokens: CoreClient.TokenPair) => {
            saved.push(tokens)
            Object.assign(stored, tokens)
          }
        }
      }
      : {})
  }).pipe(Effect.provideService(HttpClient.HttpClient, server.httpClient)))
  return { api, saved, stored }
}

const list = (api: CoreClient.Client) => Effect.runPromise(Effect.result(api.designs.list({ query: {} })))
const create = (api: CoreClient.Client, effect = (e: Effect.Effect<unknown, unknown>) => e) =>
  Effect.runPromise(Effect.result(effect(api.designs.create({ payload: { name: "Mug", productType: "mug", document: validDocument() } }))))

describe("the client package", () => {
  it("refreshes an expired token once and retries the call with the new one", async () => {
    const server = scriptedServer()
    const { api, saved } = clientOf(server)
    const result = await list(api)
    expect(result._tag).toBe("Success")
    expect(server.refreshes()).toBe(1)
    expect(saved).toEqual([{ accessToken: jwt("refreshed1"), refreshToken: "r.1" }])
    expect(server.seen.map((s) => [s.path, s.authorization])).toEqual([
      ["/api/v1/designs", `Bearer ${jwt("old")}`],
      ["/api/v1/auth/refresh", undefined],
      ["/api/v1/designs", `Bearer ${jwt("refreshed1")}`]
    ])
  })

  it("concurrent calls meeting the same expired token share one refresh", async () => {
    const server = scriptedServer()
    const { api } = clientOf(server)
    const results = await Promise.all(Array.from({ length: 5 }, () => list(api)))
    expect(results.map((r) => r._tag)).toEqual(Array(5).fill("Success"))
    expect(server.refreshes()).toBe(1)
  })

  it("a second 401 after the refresh is the answer: no refresh loop", async () => {
    const server = scriptedServer({ alwaysExpired: true })
    const { api } = clientOf(server)
    const result = await list(api)
    expect(result._tag).toBe("Failure")
    expect(result._tag === "Failure" ? result.failure : undefined).toMatchObject({ _tag: "Unauthorized", code: "token_expired" })
    expect(server.refreshes()).toBe(1)
    expect(server.seen.filter((s) => s.path === "/api/v1/designs")).toHaveLength(2)
  })

  it("other 401 codes are not refreshed: a revoked session means signing in again", async () => {
    for (const code of ["session_revoked", "unauthorized"]) {
      const server = scriptedServer({ on401: code })
      const { api } = clientOf(server)
      const result = await list(api)
      expect(result._tag === "Failure" ? result.failure : undefined).toMatchObject({ _tag: "Unauthorized", code })
      expect(server.refreshes()).toBe(0)
      expect(server.seen).toHaveLength(1)
    }
  })

  it("a refused refresh answers the original 401, once", async () => {
    const server = scriptedServer({ refreshFails: true })
    const { api, saved } = clientOf(server)
    const result = await list(api)
    expect(result._tag === "Failure" ? result.failure : undefined).toMatchObject({ _tag: "Unauthorized", code: "token_expired" })
    expect(saved).toEqual([])
    expect(server.seen.map((s) => s.path)).toEqual(["/api/v1/designs", "/api/v1/auth/refresh"])
  })

  it("a refresh lost to an outage answers the original 401, and the next call refreshes again", async () => {
    const server = scriptedServer({ firstRefreshUnavailable: true })
    const { api, saved } = clientOf(server)
    const first = await list(api)
    expect(first._tag === "Failure" ? first.failure : undefined).toMatchObject({ _tag: "Unauthorized", code: "token_expired" })
    const second = await list(api)
    expect(second._tag).toBe("Success")
    expect(server.refreshes()).toBe(2)
    expect(saved).toEqual([{ accessToken: jwt("refreshed2"), refreshToken: "r.2" }])
  })

  it("concurrent calls meeting an outage on their shared refresh: one refresh, each answers its 401", async () => {
    const server = scriptedServer({ firstRefreshUnavailable: true })
    const { api } = clientOf(server)
    const results = await Promise.all(Array.from({ length: 5 }, () => list(api)))
    for (const result of results) {
      expect(result._tag === "Failure" ? result.failure : undefined).toMatchObject({ _tag: "Unauthorized", code: "token_expired" })
    }
    expect(server.refreshes()).toBe(1)
  })

  it("a refused refresh is not asked again for the same expired token", async () => {
    const server = scriptedServer({ refreshFails: true })
    const { api } = clientOf(server)
    await list(api)
    await list(api)
    expect(server.refreshes()).toBe(1)
  })

  it("a call whose token was replaced meanwhile (another tab refreshed) retries with the current one, no refresh", async () => {
    const server = scriptedServer()
    let reads = 0
    const api = Effect.runSync(CoreClient.make({
      baseUrl: "http://api.test",
      accessToken: () => (reads++ === 0 ? jwt("old") : jwt("first")),
      refresh: { refreshToken: () => "r.0", onRefreshed: () => undefined }
    }).pipe(Effect.provideService(HttpClient.HttpClient, server.httpClient)))
    expect((await list(api))._tag).toBe("Success")
    expect(server.refreshes()).toBe(0)
    expect(server.seen.map((s) => s.authorization)).toEqual([`Bearer ${jwt("old")}`, `Bearer ${jwt("first")}`])
  })

  it("without refresh options a 401 is answered as it came", async () => {
    const server = scriptedServer()
    const { api } = clientOf(server, false)
    expect((await list(api))._tag).toBe("Failure")
    expect(server.refreshes()).toBe(0)
  })

  it("a create carries an Idempotency-Key, the same on its retry after the refresh, a new one per call", async () => {
    const server = scriptedServer()
    const { api } = clientOf(server)
    await create(api)
    await create(api)
    const creates = server.seen.filter((s) => s.method === "POST" && s.path === "/api/v1/designs")
    expect(creates).toHaveLength(3)
    const [first, retry, next] = creates
    expect(first!.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/u)
    expect(retry!.idempotencyKey).toBe(first!.idempotencyKey)
    expect(retry!.authorization).toBe(`Bearer ${jwt("refreshed1")}`)
    expect(next!.idempotencyKey).not.toBe(first!.idempotencyKey)
    // Reads and other writes carry none.
    expect(server.seen.filter((s) => s.path !== "/api/v1/designs" || s.method !== "POST").every((s) => s.idempotencyKey === undefined)).toBe(true)
  })

  it("withIdempotencyKey sends the caller's key (e.g. kept across a page reload) on every create of the effect", async () => {
    const server = scriptedServer()
    const { api } = clientOf(server)
    await create(api, CoreClient.withIdempotencyKey("form-42"))
    await Effect.runPromise(Effect.result(CoreClient.withIdempotencyKey("form-43")(api.designs.duplicate({ params: { id: "00000000-0000-4000-8000-000000000001" as DesignId } }))))
    expect(server.seen.filter((s) => s.method === "POST" && s.path !== "/api/v1/auth/refresh").map((s) => s.idempotencyKey)).toEqual(["form-42", "form-42", "form-43"])
  })
})
