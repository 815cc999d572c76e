import { randomBytes, randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { HttpApi } from "effect/http-api"
import { expect } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"
import { Authentication, ServiceAuthentication } from "../../src/api/Security.ts"
import { makeTestApp, type TestAppOptions } from "./app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "./database.ts"
import { uniqueEmail, validDocument } from "./http.ts"
import { type Exchange, ok, typedClient } from "./typedClient.ts"

/**
 * Shared by the security suite (test/security): the endpoint inventory read from the HttpApi
 * definition (so a new endpoint is attacked without anyone remembering to list it), clients
 * that record every response (the typed client of CoreApi, and raw requests for what it cannot
 * send), and sign-up helpers.
 */

export const SERVICE_KEY = "security-suite-service-key-0123456789abcdef"
export const PASSWORD = "correct horse battery"

export interface EndpointInfo {
  readonly key: string
  readonly group: string
  readonly name: string
  readonly method: string
  readonly path: string
  readonly hasPayload: boolean
  readonly auth: "user" | "service" | "none"
  readonly params: ReadonlyArray<string>
  readonly query: ReadonlyArray<string>
}

export const endpoints: ReadonlyArray<EndpointInfo> = (() => {
  const all: Array<EndpointInfo> = []
  HttpApi.reflect(CoreApi, {
    onGroup: () => {},
    onEndpoint: ({ group, endpoint, middleware }) => {
      const query = endpoint.query as { ast?: { propertySignatures?: ReadonlyArray<{ name: PropertyKey }> } } | undefined
      all.push({
        key: `${group.identifier}.${endpoint.identifier}`,
        group: group.identifier,
        name: endpoint.identifier,
        method: endpoint.method,
        path: endpoint.path,
        hasPayload: endpoint.payload.size > 0,
        auth: middleware.has(Authentication as never) ? "user" : middleware.has(ServiceAuthentication as never) ? "service" : "none",
        params: [...endpoint.path.matchAll(/:(\w+)/g)].map((m) => m[1]!),
        query: (query?.ast?.propertySignatures ?? []).map((p) => String(p.name))
      })
    }
  })
  return all
})()

/** A value of the right shape for a path parameter, by name. */
export const paramValue = (name: string): string =>
  name === "externalId"
    ? `shopify:${Date.now()}`
    : name === "sessionId"
    ? randomBytes(16).toString("base64url")
    : randomUUID()

export const fillPath = (path: string, values: Record<string, string> = {}) =>
  path.replace(/:(\w+)/g, (_, name: string) => values[name] ?? paramValue(name))

/**
 * A body each write endpoint accepts as far as validation goes (some are refused later: wrong
 * password, unknown id). Keyed like `EndpointInfo.key`; `bodyFor` fails for an endpoint that
 * has a payload and no entry, so new write endpoints must be added here.
 */
export const validBodies: Record<string, () => unknown> = {
  "auth.register": () => ({ email: uniqueEmail(), password: PASSWORD, fullName: "Mallory" }),
  "auth.login": () => ({ email: uniqueEmail(), password: PASSWORD }),
  "auth.refresh": () => ({ refreshToken: "not-a-real-refresh-token" }),
  "auth.requestPasswordReset": () => ({ email: uniqueEmail() }),
  "auth.confirmPasswordReset": () => ({ token: "not-a-real-reset-token", newPassword: "another secret 1" }),
  "me.update": () => ({ fullName: "Mallory" }),
  "me.changePassword": () => ({ currentPassword: "wrong password!", newPassword: "another secret 1" }),
  "me.delete": () => ({ password: "wrong password!" }),
  "admin.updateUser": () => ({ disabled: false }),
  "designs.create": () => ({ name: "Attack mug", productType: "mug", document: validDocument() }),
  "designs.update": () => ({ version: 1, name: "Renamed" }),
  "assets.requestUpload": () => ({ fileName: "a.png", contentType: "image/png", byteSize: 68 }),
  "jobs.render": () => ({ kind: "render" }),
  "internal.upsertOrder": () => ({ userId: randomUUID(), designId: null, status: "paid", quantity: 1, totalCents: 100, currency: "EUR" }),
  "internal.setSubscription": () => ({ plan: "free", status: "active" }),
  "internal.reportJob": () => ({ status: "processing" }),
  "ai.suggest": () => ({ productType: "mug", prompt: "a cat in space" })
}

export const bodyFor = (endpoint: EndpointInfo): unknown => {
  if (!endpoint.hasPayload) return undefined
  const make = validBodies[endpoint.key]
  if (make === undefined) throw new Error(`no valid body known for ${endpoint.key}: add one to test/support/security.ts`)
  return make()
}

export interface Sent {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
  readonly ms: number
}

/** A typed client's exchange as a `Sent`, to check it like a raw answer (`expectProblem`). */
export const asSent = (exchange: Exchange | undefined): Sent => {
  if (exchange === undefined) throw new Error("no request was sent")
  const isJson = (exchange.headers.get("content-type") ?? "").includes("json")
  let body: unknown = undefined
  if (isJson && exchange.text !== "") {
    try {
      body = JSON.parse(exchange.text)
    } catch {
      body = undefined
    }
  }
  return { method: exchange.method, path: exchange.path, status: exchange.status, headers: exchange.headers, text: exchange.text, body, ms: exchange.ms }
}

export interface RawOptions {
  readonly body?: RequestInit["body"]
  readonly headers?: Record<string, string>
  /** A method `new Request` refuses (TRACE, CONNECT): set on the request after construction. */
  readonly forcedMethod?: string
}

export interface CallOptions {
  readonly body?: unknown
  readonly token?: string
  readonly serviceKey?: string
  readonly headers?: Record<string, string>
}

/** One app on a fresh database of its own, with a client recording every response. */
export const securityHarness = (options: Omit<TestAppOptions, "databaseUrl" | "redisUrl"> = {}) => {
  const scope = Effect.runSync(Scope.make())
  let app: ReturnType<typeof makeTestApp> | undefined
  let databaseUrl = ""
  const seen: Array<Sent> = []
  /** Typed clients of the app (by token, service key, ...); their exchanges are recorded too. */
  const api = typedClient(() => {
    if (app === undefined) throw new Error("harness not started")
    return app
  }, { onExchange: (exchange) => seen.push(asSent(exchange)) })

  const start = async () => {
    const serverUrl = realDatabaseUrl()
    if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
    databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
    app = makeTestApp({
      ...options,
      databaseUrl,
      redisUrl: realRedisUrl(),
      config: { serviceApiKeys: [Redacted.make(SERVICE_KEY)], ...options.config }
    })
  }

  const stop = async () => {
    await app?.dispose()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }

  const raw = async (method: string, path: string, options: RawOptions = {}): Promise<Sent> => {
    if (app === undefined) throw new Error("harness not started")
    const init: RequestInit = { method: options.forcedMethod === undefined ? method : "GET", headers: options.headers ?? {} }
    if (options.body !== undefined) {
      init.body = options.body
      if (options.body instanceof ReadableStream) (init as { duplex?: string }).duplex = "half"
    }
    const request = new Request(path.startsWith("http") ? path : `http://test${path}`, init)
    if (options.forcedMethod !== undefined) Object.defineProperty(request, "method", { value: options.forcedMethod })
    const started = performance.now()
    const response = await app.handler(request)
    const text = await response.text()
    const ms = performance.now() - started
    const isJson = (response.headers.get("content-type") ?? "").includes("json")
    let body: unknown = undefined
    if (isJson && text !== "") {
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
    }
    const sent = { method: options.forcedMethod ?? method, path, status: response.status, headers: response.headers, text, body, ms }
    seen.push(sent)
    return sent
  }

  const call = (method: string, path: string, options: CallOptions = {}): Promise<Sent> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.body !== undefined) headers["content-type"] = "application/json"
    if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
    if (options.serviceKey !== undefined) headers["x-service-key"] = options.serviceKey
    return raw(method, path, { headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) })
  }

  const query = <A extends object>(statement: string, parameters: ReadonlyArray<unknown> = []) =>
    Effect.runPromise(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      return yield* sql.unsafe<A>(statement, parameters)
    }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

  const signUp = async () => {
    const email = uniqueEmail()
    const { user, tokens } = await ok(api().auth.register({ payload: { email, password: PASSWORD, fullName: "Security Test" } }), 201)
    return { id: user.id, email, token: tokens.accessToken, refreshToken: tokens.refreshToken }
  }

  const signUpAdmin = async () => {
    const user = await signUp()
    await query("UPDATE users SET role = 'admin' WHERE id = $1", [user.id])
    const { tokens } = await ok(api().auth.login({ payload: { email: user.email, password: PASSWORD } }), 200)
    return { ...user, token: tokens.accessToken, refreshToken: tokens.refreshToken }
  }

  return { start, stop, api, raw, call, query, signUp, signUpAdmin, seen, app: () => app!, databaseUrl: () => databaseUrl }
}

/** The problem+json shape every error of the API has. */
export const expectProblem = (result: Sent, context = `${result.method} ${result.path.slice(0, 120)}`) => {
  expect(result.status, context).toBeGreaterThanOrEqual(400)
  expect(result.headers.get("content-type") ?? "", `${context}: content type`).toContain("application/problem+json")
  expect(result.body, `${context}: body ${result.text.slice(0, 200)}`).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status: result.status,
    code: expect.stringMatching(/^[a-z][a-z0-9_]*$/)
  })
}

/** Internals an error body must never show: stack frames, SQL, module paths, raw error names. */
export const LEAKS: ReadonlyArray<RegExp> = [
  /\bat\s+[\w.<>$]+\s+\(/,
  /\bat\s+(file|node):/,
  /\n\s+at\s/,
  /\.ts:\d+:\d+/,
  /\bSELECT\b/i,
  /\bINSERT\s+INTO\b/i,
  /node_modules/,
  /\b\w*Error:/
]

export const withoutRequestId = (body: unknown) => {
  if (body === null || typeof body !== "object") return body
  const { requestId: _ignored, ...rest } = body as Record<string, unknown>
  return rest
}
