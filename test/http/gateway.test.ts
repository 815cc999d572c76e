import { createHash } from "node:crypto"
import { Cluster, Redis as IORedis } from "ioredis"
import { ByteSize, Duration, Effect, Exit, Layer, Logger, Schema, Scope } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { withConventions } from "../../src/api/Api.ts"
import { RateLimited } from "../../src/api/Gateway.ts"
import * as RequestPipeline from "../../src/http/RequestPipeline.ts"
import * as RequestValidationLive from "../../src/http/RequestValidationLive.ts"
import * as RouteTable from "../../src/http/RouteTable.ts"
import { makeTestApp, pipelineDependenciesWith } from "../support/app.ts"
import { assertConforms } from "../support/contract.ts"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"
import { clusterTarget, type RedisTopology, redisTopologies, requireRedis } from "../support/redisTopology.ts"

/**
 * The global request pipeline seen from outside: rate limit, CORS, size/time limits and
 * security headers, on the real app (real PostgreSQL; memory or real Redis stores).
 */
const scope = Effect.runSync(Scope.make())
let databaseUrl: string

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs a real PostgreSQL (see test/support/globalSetup.ts)")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
})
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

type App = ReturnType<typeof makeTestApp>

interface Sent {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
}

const send = async (app: { readonly handler: (request: Request) => Promise<Response> }, path: string, init: RequestInit = {}): Promise<Sent> => {
  const response = await app.handler(new Request(`http://test${path}`, init))
  const text = await response.text()
  // Every answer of the real app is checked against the document; the probe API is not in it.
  if (!path.startsWith("/probe/")) {
    assertConforms({ method: init.method ?? "GET", path, status: response.status, headers: response.headers, text })
  }
  const isJson = (response.headers.get("content-type") ?? "").includes("json")
  return { status: response.status, headers: response.headers, text, body: isJson && text !== "" ? JSON.parse(text) : undefined }
}

const expectProblem = (result: Sent, status: number, code?: string) => {
  expect(result.status).toBe(status)
  expect(result.headers.get("content-type")).toContain("application/problem+json")
  expect(result.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) })
  if (code !== undefined) expect(result.body.code).toBe(code)
  expect(result.body.requestId).toBe(result.headers.get("x-request-id"))
}

// ---------------------------------------------------------------------------------------------
// Rate limit
// ---------------------------------------------------------------------------------------------

const POLICY = "\"ip\";q=100;w=60"
const RATE_LIMIT_FIELD = /^"ip";r=(\d+);t=(\d+)$/

/** The RateLimit field's remaining budget, after checking the policy and that t is a sane reset. */
const budgetOf = (result: Sent) => {
  expect(result.headers.get("ratelimit-policy")).toBe(POLICY)
  const match = RATE_LIMIT_FIELD.exec(result.headers.get("ratelimit") ?? "")
  expect(match, `RateLimit field: ${result.headers.get("ratelimit")}`).not.toBeNull()
  const reset = Number(match![2])
  expect(reset).toBeGreaterThanOrEqual(1)
  expect(reset).toBeLessThanOrEqual(60)
  return Number(match![1])
}

let spoofed = 0
/** An API request that counts against the budget, with a client-chosen X-Forwarded-For each time. */
const apiRequest = (app: App, n: number) => {
  const headers = { "x-forwarded-for": `203.0.113.${spoofed++ % 250}, 198.51.100.${n % 250}` }
  return n % 2 === 0
    ? send(app, "/api/v1/users/me", { headers })
    : send(app, "/api/v1/auth/login", { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: "{}" })
}

const expectCounted = (result: Sent, remaining: number) => {
  expect([400, 401], `status with ${remaining} left`).toContain(result.status)
  expect(budgetOf(result)).toBe(remaining)
}

const expectLimited = (result: Sent) => {
  expectProblem(result, 429, "rate_limited")
  // Exactly the body the OpenAPI document declares for the gateway's 429.
  expect(() => Schema.decodeUnknownSync(RateLimited)(result.body, { onExcessProperty: "error" })).not.toThrow()
  const retryAfter = Number(result.headers.get("retry-after"))
  expect(Number.isInteger(retryAfter)).toBe(true)
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(60)
  expect(budgetOf(result)).toBe(0)
}

/** 100 requests with r going 99..0, then 429 on the next ones; exempt paths stay open. */
const exhaustAndCheck = async (app: App) => {
  for (let i = 1; i <= 100; i++) expectCounted(await apiRequest(app, i), 100 - i)
  expectLimited(await apiRequest(app, 101))
  expectLimited(await apiRequest(app, 102))
  expectLimited(await send(app, "/api/v1/auth/register", {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": "192.0.2.1" },
    body: JSON.stringify({ email: "limited@example.com", password: "correct horse battery", fullName: "Limited" })
  }))
  for (const path of ["/health", "/openapi.json", "/docs"]) {
    const exempt = await send(app, path, { headers: { "x-forwarded-for": "192.0.2.2" } })
    expect(exempt.status, path).toBe(200)
    expect(exempt.headers.get("ratelimit"), path).toBeNull()
    expect(exempt.headers.get("ratelimit-policy"), path).toBeNull()
  }
}

describe("rate limit on the in-memory store", () => {
  let app: App
  beforeAll(() => {
    app = makeTestApp({ databaseUrl, config: { rateLimitPerMinute: 100 } })
  })
  afterAll(() => app?.dispose())

  it("allows exactly 100 requests a minute, then answers 429 with Retry-After; a spoofed X-Forwarded-For changes nothing", async () => {
    await exhaustAndCheck(app)
  })
})

describe.each(redisTopologies())("rate limit on real Redis ($name)", (topology) => {
  /** On one node, a Redis database of its own, so no other test file's keys mix with this one's. */
  const redis: RedisTopology["redis"] = topology.redis.redisUrl === undefined ? topology.redis : (() => {
    const url = new URL(topology.redis.redisUrl)
    url.pathname = "/11"
    return { redisUrl: url.toString() }
  })()
  const apps: Array<App> = []
  const appOnRedis = () => {
    const app = makeTestApp({ databaseUrl, ...redis, config: { rateLimitPerMinute: 100 } })
    apps.push(app)
    return app
  }

  beforeAll(() => requireRedis(topology))
  beforeEach(async () => {
    // Without a socket every test request is client "unknown": start each test with a fresh budget.
    const client = redis.redisClusterNodes === undefined
      ? new IORedis(redis.redisUrl!)
      : new Cluster(clusterTarget(redis.redisClusterNodes).nodes.map((node) => ({ ...node })))
    try {
      await client.del("ratelimit:v1:ip:unknown")
    } finally {
      client.disconnect()
    }
  })
  afterAll(async () => {
    for (const app of apps) await app.dispose()
  })

  it("allows exactly 100 requests a minute, then answers 429 with Retry-After", async () => {
    await exhaustAndCheck(appOnRedis())
  })

  it("counts across instances sharing the Redis: 60 on one and 40 on the other exhaust the budget", async () => {
    const first = appOnRedis()
    const second = appOnRedis()
    for (let i = 1; i <= 60; i++) expectCounted(await apiRequest(first, i), 100 - i)
    for (let i = 61; i <= 100; i++) expectCounted(await apiRequest(second, i), 100 - i)
    expectLimited(await apiRequest(first, 101))
    expectLimited(await apiRequest(second, 102))
  })
})

// ---------------------------------------------------------------------------------------------
// CORS, limits and security headers (one app)
// ---------------------------------------------------------------------------------------------

const ALLOWED_ORIGIN = "https://shop.example.com"
let app: App

describe("pipeline", () => {
  beforeAll(() => {
    app = makeTestApp({ databaseUrl, config: { corsOrigins: [ALLOWED_ORIGIN], maxBodySize: ByteSize.kibibytes(1) } })
  })
  afterAll(() => app?.dispose())

  const allowHeaders = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age"
  ]

  const expectNoCorsGrant = (result: Sent) => {
    for (const header of allowHeaders) expect(result.headers.get(header), header).toBeNull()
    expect(result.headers.get("vary") ?? "").toMatch(/\bOrigin\b/i)
  }

  describe("CORS", () => {
    it("grants a listed origin, credentials included, on success and error responses alike", async () => {
      for (const [path, status] of [["/health", 200], ["/api/v1/users/me", 401], ["/nowhere", 404]] as const) {
        const result = await send(app, path, { headers: { origin: ALLOWED_ORIGIN } })
        expect(result.status).toBe(status)
        expect(result.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN)
        expect(result.headers.get("access-control-allow-credentials")).toBe("true")
        expect(result.headers.get("vary") ?? "").toMatch(/\bOrigin\b/i)
        const exposed = (result.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/\s*,\s*/)
        expect(exposed).toEqual(expect.arrayContaining(["x-request-id", "ratelimit", "ratelimit-policy", "retry-after"]))
      }
    })

    it("grants nothing to an unlisted origin, look-alikes included", async () => {
      for (const origin of ["https://evil.example.com", "https://shop.example.com.evil.com", "http://shop.example.com", "null"]) {
        const result = await send(app, "/health", { headers: { origin } })
        expect(result.status).toBe(200)
        expectNoCorsGrant(result)
      }
    })

    it("answers a preflight from a listed origin with 204 and the allowed methods and headers", async () => {
      const result = await send(app, "/api/v1/designs", {
        method: "OPTIONS",
        headers: {
          origin: ALLOWED_ORIGIN,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type"
        }
      })
      expect(result.status).toBe(204)
      expect(result.text).toBe("")
      expect(result.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN)
      expect(result.headers.get("access-control-allow-credentials")).toBe("true")
      const methods = (result.headers.get("access-control-allow-methods") ?? "").split(/\s*,\s*/)
      expect(methods).toEqual(expect.arrayContaining(["GET", "POST", "PATCH", "PUT", "DELETE"]))
      const headers = (result.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/\s*,\s*/)
      expect(headers).toEqual(expect.arrayContaining(["authorization", "content-type", "if-match", "x-request-id"]))
      const maxAge = Number(result.headers.get("access-control-max-age"))
      expect(maxAge).toBeGreaterThan(0)
      expect(maxAge).toBeLessThanOrEqual(86_400)
      expect(result.headers.get("vary") ?? "").toMatch(/\bOrigin\b/i)
    })

    it("answers a preflight from an unlisted origin without any allow header", async () => {
      const result = await send(app, "/api/v1/designs", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example.com", "access-control-request-method": "DELETE" }
      })
      expect(result.status).toBeLessThan(500)
      expectNoCorsGrant(result)
    })
  })

  describe("limits", () => {
    const loginBody = (size: number) => {
      const base = { email: "someone@example.com", password: "" }
      const padding = size - JSON.stringify(base).length
      return JSON.stringify({ ...base, password: "p".repeat(padding) })
    }

    it("refuses a body over MAX_BODY_SIZE by its Content-Length with 413", async () => {
      const body = loginBody(2048)
      const result = await send(app, "/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(body.length) },
        body
      })
      expectProblem(result, 413, "payload_too_large")
      expect(result.text).not.toContain("ppppp")
    })

    it("refuses a streamed body over MAX_BODY_SIZE without Content-Length with 413", async () => {
      const chunk = new TextEncoder().encode(loginBody(2048))
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk.subarray(0, 1000))
          controller.enqueue(chunk.subarray(1000))
          controller.close()
        }
      })
      const result = await send(app, "/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
        duplex: "half"
      } as RequestInit)
      expectProblem(result, 413, "payload_too_large")
    })

    it("still accepts a body just under the limit", async () => {
      const result = await send(app, "/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: loginBody(1000)
      })
      // Read and validated (the password is too long for the schema), not refused for its size.
      expect([400, 401]).toContain(result.status)
      expect(result.body.code).not.toBe("payload_too_large")
    })

    it("refuses a non-JSON content type on a JSON endpoint with 415", async () => {
      const result = await send(app, "/api/v1/auth/login", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify({ email: "someone@example.com", password: "correct horse battery" })
      })
      expectProblem(result, 415, "unsupported_media_type")
    })

    it("refuses a URL over 8 KiB with 414 and accepts one just under", async () => {
      const long = await send(app, `/api/v1/designs?q=${"a".repeat(8 * 1024)}`)
      expectProblem(long, 414, "uri_too_long")
      const path = "/health?q="
      const under = await send(app, `${path}${"a".repeat(8 * 1024 - path.length)}`)
      expect(under.status).toBe(200)
    })
  })

  describe("security headers", () => {
    /** A script element a browser runs: no type, or a JavaScript one (not a JSON data block). */
    const isJavaScript = (attributes: string) => {
      const type = /\btype\s*=\s*["']?([^"'\s>]+)/i.exec(attributes)?.[1]?.toLowerCase()
      return type === undefined || type === "" || type === "module" || type.endsWith("javascript") || type.endsWith("ecmascript")
    }

    const expectBaseHeaders = (result: Sent) => {
      expect(result.headers.get("x-content-type-options")).toBe("nosniff")
      expect(result.headers.get("referrer-policy")).toBe("no-referrer")
      expect(result.headers.get("x-frame-options")).toBe("DENY")
      expect(result.headers.get("content-security-policy") ?? "").toMatch(/(^|;\s*)default-src 'none'(;|$)/)
    }

    it("are on every response: 200, 404, 401, 400, 413, 415, 405, preflight", async () => {
      const responses: Array<[Sent, number]> = [
        [await send(app, "/health"), 200],
        [await send(app, "/nowhere"), 404],
        [await send(app, "/api/v1/users/me"), 401],
        [await send(app, "/api/v1/auth/login", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }), 400],
        [await send(app, "/api/v1/auth/login", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }), 415],
        [await send(app, "/api/v1/auth/login", { method: "DELETE" }), 405],
        [await send(app, "/health", { method: "OPTIONS", headers: { origin: ALLOWED_ORIGIN, "access-control-request-method": "GET" } }), 204]
      ]
      for (const [result, status] of responses) {
        expect(result.status).toBe(status)
        expectBaseHeaders(result)
        expect(result.headers.get("x-request-id")).toMatch(/^[A-Za-z0-9._:-]{8,128}$/)
        expect(result.headers.get("strict-transport-security")).toBeNull()
      }
      const json = responses[0]![0]
      expect(json.headers.get("content-security-policy")).toContain("frame-ancestors 'none'")
    })

    it("give the documentation pages a CSP allowing their own inline scripts by hash only", async () => {
      for (const path of ["/docs", "/redoc"]) {
        const result = await send(app, path)
        expect(result.status).toBe(200)
        expectBaseHeaders(result)
        const directives = new Map((result.headers.get("content-security-policy") ?? "").split(";").map((d) => {
          const [name, ...values] = d.trim().split(/\s+/)
          return [name!, values] as const
        }))
        const scriptSrc = directives.get("script-src") ?? []
        expect(scriptSrc, path).toContain("'self'")
        expect(scriptSrc, path).not.toContain("'unsafe-inline'")
        expect(scriptSrc, path).not.toContain("'unsafe-eval'")
        expect(scriptSrc.filter((source) => !/^'(self|sha256-[A-Za-z0-9+/]+=*)'$/.test(source)), path).toEqual([])
        // Every inline script a browser would run must be allowed by one of the listed hashes.
        const inline = [...result.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)]
          .filter(([, attributes]) => !/\bsrc\s*=/.test(attributes ?? "") && isJavaScript(attributes ?? ""))
          .map(([, , body]) => body ?? "")
          .filter((body) => body.length > 0)
        for (const body of inline) {
          const hash = `'sha256-${createHash("sha256").update(body, "utf8").digest("base64")}'`
          expect(scriptSrc, `${path}: inline script ${body.slice(0, 60)}`).toContain(hash)
        }
        if (path === "/docs") expect(inline.length).toBeGreaterThan(0)
      }
    })

    it("send HSTS only when the request came over HTTPS", async () => {
      const plain = await send(app, "/health")
      expect(plain.headers.get("strict-transport-security")).toBeNull()
      const http = await send(app, "/health", { headers: { "x-forwarded-proto": "http" } })
      expect(http.headers.get("strict-transport-security")).toBeNull()
      for (const path of ["/health", "/api/v1/users/me", "/nowhere"]) {
        const https = await send(app, path, { headers: { "x-forwarded-proto": "https" } })
        expect(https.headers.get("strict-transport-security"), path).toMatch(/^max-age=(\d+)/)
        expect(Number(/max-age=(\d+)/.exec(https.headers.get("strict-transport-security")!)![1])).toBeGreaterThanOrEqual(15_552_000)
      }
    })
  })
})

// ---------------------------------------------------------------------------------------------
// Request timeout (a probe API through the very same pipeline)
// ---------------------------------------------------------------------------------------------

class SlowGroup extends HttpApiGroup.make("slow")
  .add(
    HttpApiEndpoint.get("slow", "/slow", { success: Schema.Struct({ done: Schema.Boolean }) }),
    HttpApiEndpoint.get("fast", "/fast", { success: Schema.Struct({ done: Schema.Boolean }) })
  )
  .prefix("/probe")
{}

const SlowApi = withConventions(HttpApi.make("slow").add(SlowGroup))

let slowFinished = 0
const SlowHandlers = HttpApiBuilder.group(SlowApi, "slow", (handlers) =>
  Effect.succeed(
    handlers
      .handle("slow", () =>
        Effect.sleep("2 seconds").pipe(
          Effect.andThen(Effect.sync(() => {
            slowFinished++
          })),
          Effect.as({ done: true })
        ))
      .handle("fast", () => Effect.succeed({ done: true }))
  ))

describe("request timeout", () => {
  const probe = HttpRouter.toWebHandler(
    Layer.mergeAll(
      HttpApiBuilder.layer(SlowApi).pipe(Layer.provide(SlowHandlers), Layer.provideMerge(RequestValidationLive.layer)),
      RequestPipeline.layer(RouteTable.make(SlowApi, [])).pipe(
        Layer.provide(pipelineDependenciesWith({ requestTimeout: Duration.millis(200) }))
      )
    ).pipe(Layer.provideMerge(Logger.layer([])), Layer.provide(HttpServer.layerServices)),
    { disableLogger: true }
  )
  afterAll(() => probe.dispose())

  it("answers a handler slower than REQUEST_TIMEOUT with a 503 problem and Retry-After, well before it would finish", async () => {
    expect((await send(probe, "/probe/fast")).status).toBe(200)
    const started = performance.now()
    const result = await send(probe, "/probe/slow")
    const elapsed = performance.now() - started
    expectProblem(result, 503, "request_timeout")
    expect(Number(result.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(result.headers.get("x-content-type-options")).toBe("nosniff")
    expect(elapsed).toBeGreaterThanOrEqual(150)
    expect(elapsed).toBeLessThan(1_500)
    // The handler was interrupted, not left running in the background.
    await new Promise((resolve) => setTimeout(resolve, 2_200))
    expect(slowFinished).toBe(0)
  })

  it("leaves a fast handler alone", async () => {
    const result = await send(probe, "/probe/fast")
    expect(result.status).toBe(200)
    expect(result.body).toEqual({ done: true })
  })
})
