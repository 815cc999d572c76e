import { PgClient } from "@effect/sql-pg"
import { Cause, Effect, Exit, type Layer, Logger, Option, Redacted, References, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { assertConforms } from "../support/contract.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { failure, ok, typedClient } from "../support/typedClient.ts"

/**
 * What operators see: the access log (no secrets, route templates, who and how long) and the
 * Prometheus metrics, on the real app over real PostgreSQL (and Redis when there is one).
 */
interface Captured {
  readonly message: unknown
  readonly level: string
  readonly annotations: Readonly<Record<string, unknown>>
  /** Everything about the entry, serialised: message, level, annotations, spans, cause. */
  readonly text: string
}

/** JSON that never throws: errors with their fields, bigints, cycles, Redacted as Effect renders it. */
const serialise = (value: unknown): string => {
  const seen = new WeakSet<object>()
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === "bigint") return item.toString()
    if (Redacted.isRedacted(item)) return String(item)
    if (item instanceof Error) {
      return { ...item, name: item.name, message: item.message, stack: item.stack, cause: item.cause }
    }
    if (typeof item === "object" && item !== null) {
      if (seen.has(item)) return "[circular]"
      seen.add(item)
    }
    return item
  }) ?? String(value)
}

const captured: Array<Captured> = []
const CaptureLogs = Logger.layer([Logger.make(({ cause, fiber, logLevel, message }) => {
  const annotations = fiber.getRef(References.CurrentLogAnnotations)
  const spans = fiber.getRef(References.CurrentLogSpans)
  captured.push({
    message,
    level: logLevel,
    annotations,
    text: [
      serialise({ message, logLevel, annotations, spans }),
      String(message),
      cause.reasons.length > 0 ? Cause.pretty(cause) : "",
      cause.reasons.length > 0 ? serialise(cause.reasons) : ""
    ].join("\n")
  })
})])

/**
 * What the app writes to the console itself: the capabilities log through their own JSON
 * logger (start-up, and fibers forked while building), which the capture above does not replace.
 */
const consoleOutput: Array<string> = []
const consoleMethods = ["log", "info", "warn", "error", "debug"] as const

const METRICS_TOKEN = "metrics-token-for-tests-0123456789"
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
let databaseUrl: string

beforeAll(async () => {
  for (const method of consoleMethods) {
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => void consoleOutput.push(args.map(serialise).join(" ")))
  }
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs a real PostgreSQL (see test/support/globalSetup.ts)")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({
    databaseUrl,
    redisUrl: realRedisUrl(),
    // A logger layer has no service output of its own: cast to the options' Layer<any>.
    overrides: CaptureLogs as unknown as Layer.Layer<any>,
    config: { logLevel: "All", metricsToken: Option.some(Redacted.make(METRICS_TOKEN)) }
  })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  vi.restoreAllMocks()
})

const query = <A extends object>(statement: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.unsafe<A>(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

const api = typedClient(() => app)

/** Raw requests: for what is not an endpoint of the API (unknown paths, /metrics) or cannot be one (a URL too long). */
const call = async (method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) => {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) headers["content-type"] = "application/json"
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
  const init: RequestInit = { method, headers }
  if (options.body !== undefined) init.body = JSON.stringify(options.body)
  const response = await app.handler(new Request(`http://test${path}`, init))
  const text = await response.text()
  assertConforms({ method: method, path, status: response.status, headers: response.headers, text })
  const isJson = (response.headers.get("content-type") ?? "").includes("json")
  return { status: response.status, headers: response.headers, text, body: isJson && text !== "" ? JSON.parse(text) : undefined }
}

/** The access-log entries: one per request, annotated with what the pipeline learnt. */
const accessLog = () =>
  captured.filter((entry) =>
    (Array.isArray(entry.message) ? entry.message.includes("request") : entry.message === "request") &&
    entry.annotations["status"] !== undefined
  )

describe("logs", () => {
  it("never contain a password, a token or a password hash, and annotate each request with route, caller and timing", async () => {
    const password = "correct horse battery staple 42"
    const wrongPassword = "Tr0ub4dor&3-wrong-password"
    const email = uniqueEmail()

    const registered = await ok(api().auth.register({ payload: { email, password, fullName: "Logged User" } }), 201)
    const userId = registered.user.id

    const loggedIn = await ok(api().auth.login({ payload: { email, password } }), 200)
    const { accessToken, refreshToken } = loggedIn.tokens

    await ok(api({ token: accessToken, headers: { "x-request-id": "obs-me-request-0001" } }).me.get(), 200)

    const refreshed = await ok(api().auth.refresh({ payload: { refreshToken } }), 200)
    const newTokens = refreshed.tokens

    expect(await failure(api().auth.login({ payload: { email, password: wrongPassword } }))).toMatchObject({ status: 401 })
    expect(await failure(api(`${accessToken}x`).me.get())).toMatchObject({ status: 401 })
    await ok(api(newTokens.accessToken).auth.logout(), 204)
    expect(await failure(api().auth.refresh({ payload: { refreshToken: newTokens.refreshToken } }))).toMatchObject({ status: 401 })

    const [stored] = await query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE id = '${userId}'`)
    const hash = stored!.password_hash
    expect(hash).toMatch(/^\$2[aby]\$/)

    expect(captured.length).toBeGreaterThan(0)
    const everything = [...captured.map((entry) => entry.text), ...consoleOutput].join("\n")
    const secrets = {
      password,
      wrongPassword,
      accessToken,
      refreshToken,
      newAccessToken: newTokens.accessToken,
      newRefreshToken: newTokens.refreshToken,
      hash,
      // A token's signature alone is as good as the token for grepping a log.
      accessSignature: accessToken.split(".")[2]!
    }
    for (const [name, secret] of Object.entries(secrets)) {
      expect(everything.includes(secret), `${name} appears in the logs`).toBe(false)
    }
    expect(everything).not.toMatch(/\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}/)
    expect(everything.toLowerCase()).not.toContain("bearer ey")

    const meEntries = accessLog().filter((entry) => entry.annotations["requestId"] === "obs-me-request-0001")
    expect(meEntries).toHaveLength(1)
    const meEntry = meEntries[0]!
    expect(meEntry.level).toBe("Info")
    expect(meEntry.annotations).toMatchObject({
      route: "/api/v1/users/me",
      method: "GET",
      status: 200,
      requestId: "obs-me-request-0001",
      userId
    })
    expect(meEntry.annotations["durationMs"]).toEqual(expect.any(Number))
    expect(meEntry.annotations["durationMs"] as number).toBeGreaterThanOrEqual(0)

    // Failures are logged too, without a caller for an anonymous one.
    const failedLogin = accessLog().find((entry) => entry.annotations["route"] === "/api/v1/auth/login" && entry.annotations["status"] === 401)
    expect(failedLogin?.annotations).toMatchObject({ method: "POST" })
    expect(failedLogin?.annotations["userId"]).toBeUndefined()
  })

  it("log the route template of a design, never its id; an unknown path as unmatched", async () => {
    const signedUp = await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Designer" } }))
    const token = signedUp.tokens.accessToken
    const created = await ok(api(token).designs.create({ payload: { name: "Logged mug", productType: "mug", document: validDocument() } }), 201)
    const id = created.id

    await ok(api({ token, headers: { "x-request-id": "obs-design-get-0001" } }).designs.get({ params: { id } }), 200)
    const entry = accessLog().find((e) => e.annotations["requestId"] === "obs-design-get-0001")
    expect(entry?.annotations).toMatchObject({
      route: "/api/v1/designs/:id",
      method: "GET",
      status: 200,
      userId: signedUp.user.id
    })
    expect(accessLog().some((e) => String(e.annotations["route"]).includes(id))).toBe(false)

    const unknownPath = `/no/such/${id}`
    expect((await call("GET", unknownPath, { headers: { "x-request-id": "obs-unmatched-0001" } })).status).toBe(404)
    const unmatched = accessLog().find((e) => e.annotations["requestId"] === "obs-unmatched-0001")
    expect(unmatched?.annotations).toMatchObject({ route: "unmatched", status: 404 })
  })
})

describe("GET /metrics in production without METRICS_TOKEN", () => {
  it("refuses every caller, loopback included (a same-host proxy makes every caller loopback)", async () => {
    const production = makeTestApp({ config: { nodeEnv: "production" } })
    try {
      const response = await production.handler(new Request("http://test/metrics"))
      expect(response.status).toBe(403)
      const development = makeTestApp()
      try {
        expect((await development.handler(new Request("http://test/metrics"))).status).toBe(200)
      } finally {
        await development.dispose()
      }
    } finally {
      await production.dispose()
    }
  })
})

describe("GET /metrics", () => {
  const metrics = (authorization?: string) =>
    call("GET", "/metrics", authorization === undefined ? {} : { headers: { authorization } })

  it("needs the bearer token when METRICS_TOKEN is set", async () => {
    expect((await metrics()).status).toBe(403)
    expect((await metrics(`Bearer ${METRICS_TOKEN}x`)).status).toBe(403)
    expect((await metrics(`Bearer ${METRICS_TOKEN.slice(0, -1)}`)).status).toBe(403)
    expect((await metrics(METRICS_TOKEN)).status).toBe(403)
    expect((await metrics(`Basic ${METRICS_TOKEN}`)).status).toBe(403)
    const ok = await metrics(`Bearer ${METRICS_TOKEN}`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get("content-type")).toMatch(/^text\/plain/)
  })

  it("is valid Prometheus text with request counts and latency histograms by route template", async () => {
    const signedUp = await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Counted" } }))
    const token = signedUp.tokens.accessToken
    const designs = api(token).designs
    const id = (await ok(designs.create({ payload: { name: "Counted mug", productType: "mug", document: validDocument() } }))).id
    for (let i = 0; i < 3; i++) await ok(designs.get({ params: { id } }), 200)
    expect((await failure(designs.get({ params: { id: "00000000-0000-4000-8000-000000000000" as DesignId } }), "NotFound")).status).toBe(404)
    expect((await call("GET", `/nowhere/${id}`)).status).toBe(404)
    // Refused before routing (URL too long): still counted under a template, never the path.
    const pad = "a".repeat(9000)
    expect((await call("GET", `/api/v1/designs/${id}?pad=${pad}`, { token })).status).toBe(414)
    expect((await call("GET", `/nowhere/${id}?pad=${pad}`)).status).toBe(414)

    const result = await metrics(`Bearer ${METRICS_TOKEN}`)
    expect(result.status).toBe(200)
    const lines = result.text.split("\n")
    const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.]+([eE][+-]?[0-9]+)?|NaN|[+-]Inf)( -?[0-9]+)?$/
    const comment = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]*( .*)?$|^#/
    for (const line of lines) {
      if (line.trim() === "") continue
      if (line.startsWith("#")) expect(line, "comment").toMatch(comment)
      else expect(line, "sample").toMatch(sample)
    }

    const labelsOf = (line: string) =>
      Object.fromEntries([...line.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]))
    const counters = lines.filter((line) => line.startsWith("http_requests_total{"))
    expect(counters.length).toBeGreaterThan(0)
    const designReads = counters.find((line) => {
      const labels = labelsOf(line)
      return labels["route"] === "/api/v1/designs/:id" && labels["method"] === "GET" && labels["status"] === "200"
    })
    expect(designReads, result.text).toBeDefined()
    expect(Number(designReads!.split(" ")[1])).toBeGreaterThanOrEqual(3)
    expect(counters.some((line) => labelsOf(line)["route"] === "unmatched")).toBe(true)
    expect(counters.some((line) => labelsOf(line)["route"] === "/api/v1/designs/:id" && labelsOf(line)["status"] === "414")).toBe(true)
    expect(counters.some((line) => labelsOf(line)["route"] === "unrouted" && labelsOf(line)["status"] === "414")).toBe(true)
    // Bounded series: no raw id in any label.
    expect(result.text).not.toContain(id)

    const buckets = lines.filter((line) => line.startsWith("http_request_duration_seconds_bucket{"))
    expect(buckets.length).toBeGreaterThan(0)
    const designBuckets = buckets.filter((line) => labelsOf(line)["route"] === "/api/v1/designs/:id")
    expect(designBuckets.map((line) => labelsOf(line)["le"])).toContain("+Inf")
    expect(lines.some((line) => line.startsWith("http_request_duration_seconds_count{"))).toBe(true)
    expect(lines.some((line) => line.startsWith("http_request_duration_seconds_sum{"))).toBe(true)
    expect(result.text).toMatch(/^# TYPE http_requests_total counter$/m)
    expect(result.text).toMatch(/^# TYPE http_request_duration_seconds histogram$/m)
  })
})
