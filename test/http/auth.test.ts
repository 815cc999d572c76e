import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Ref, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { HttpApi } from "effect/http-api"
import { SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"
import { Authentication } from "../../src/api/Security.ts"
import type { UserPage } from "../../src/api/Users.ts"
import * as JobQueueLayers from "../../src/capabilities/queue/JobQueue.ts"
import { JobQueue, QueueError } from "../../src/capabilities/queue/JobQueue.ts"
import { DEVELOPMENT_JWT_SECRET } from "../../src/config/AppConfig.ts"
import type { Job } from "../../src/domain/Jobs.ts"
import type { UserId } from "../../src/domain/User.ts"
import { assertConforms } from "../support/contract.ts"
import { makeTestApp, recordingMailer } from "../support/app.ts"
import { waitFor } from "../support/faults.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { attempt, failure, failureAndResponse, ok, problemBody, typedClient } from "../support/typedClient.ts"

const scope = Effect.runSync(Scope.make())
const jobs = Effect.runSync(Ref.make<ReadonlyArray<Job>>([]))
/** When set, the next enqueue fails as a queue outage would. */
let failNextEnqueue = false
const RecordingQueue = Layer.succeed(JobQueue, {
  kind: "memory",
  description: "recording",
  enqueue: (job) =>
    Effect.suspend(() => {
      if (!failNextEnqueue) return Ref.update(jobs, (all) => [...all, job])
      failNextEnqueue = false
      return Effect.fail(new QueueError({ cause: "queue unavailable" }))
    }),
  depth: Effect.succeed(0),
  consume: () => Effect.never,
  prune: () => Effect.void
})
let app: ReturnType<typeof makeTestApp>
let databaseUrl: string

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), overrides: RecordingQueue })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const query = <A extends object>(statement: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.unsafe<A>(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

interface Sent {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
}

/** Every response body of the suite, to assert that no secret ever leaves the server. */
const seenBodies: Array<string> = []

const api = typedClient(() => app, { onExchange: (exchange) => seenBodies.push(exchange.text) })

/** Raw requests: for what the typed client cannot send (values its schemas refuse, any route by reflection). */
const call = async (method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Sent> => {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) headers["content-type"] = "application/json"
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
  const init: RequestInit = { method, headers }
  if (options.body !== undefined) init.body = JSON.stringify(options.body)
  const response = await app.handler(new Request(`http://test${path}`, init))
  const text = await response.text()
  assertConforms({ method: method, path, status: response.status, headers: response.headers, text })
  seenBodies.push(text)
  return { status: response.status, headers: response.headers, text, body: text === "" ? undefined : JSON.parse(text) }
}

let counter = 0
const uniqueEmail = () => `user${Date.now()}x${counter++}@example.com`

const register = async (email = uniqueEmail(), password = "correct horse battery") => {
  const { user, tokens } = await ok(api().auth.register({ payload: { email, password, fullName: "Test User" } }), 201)
  return { email, password, user, tokens }
}

const login = (email: string, password: string) => api().auth.login({ payload: { email, password } })

const me = (token: string) => api(token).me.get()

const makeAdmin = async () => {
  const admin = await register()
  await query(`UPDATE users SET role = 'admin' WHERE id = '${admin.user.id}'`)
  const signedIn = await ok(login(admin.email, admin.password))
  return { ...admin, tokens: signedIn.tokens }
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url")
const secret = new TextEncoder().encode(DEVELOPMENT_JWT_SECRET)
const sign = (claims: Record<string, unknown>, header: { alg: string; typ?: string } = { alg: "HS256", typ: "at+jwt" }, key = secret) =>
  new SignJWT(claims).setProtectedHeader(header).sign(key)

describe("sign up, sign in, me", () => {
  it("registers (201, email lower-cased, free subscription, no secrets) and reads the profile", async () => {
    const email = uniqueEmail()
    const registered = await register(email.toUpperCase())
    expect(registered.user).toMatchObject({ email, role: "user", fullName: "Test User", disabled: false, avatarUrl: null })
    expect(registered.tokens).toMatchObject({ tokenType: "Bearer", expiresIn: 900 })
    const [subscription] = await query<{ plan_id: string; status: string }>(
      `SELECT plan_id, status FROM subscriptions WHERE user_id = '${registered.user.id}'`
    )
    expect(subscription).toEqual({ plan_id: "free", status: "active" })
    expect(await ok(me(registered.tokens.accessToken), 200)).toEqual(registered.user)
    const [stored] = await query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE id = '${registered.user.id}'`)
    expect(stored!.password_hash).toMatch(/^\$2[aby]\$10\$/)
  })

  it("refuses a second account for the same email, whatever its case", async () => {
    const first = await register()
    const again = await failure(
      api().auth.register({ payload: { email: first.email.toUpperCase(), password: "another password", fullName: "X" } }),
      "EmailTaken"
    )
    expect(again.status).toBe(409)
    expect(again.code).toBe("email_taken")
  })

  it("lists every invalid registration field, and refuses passwords over 72 bytes instead of truncating", async () => {
    // Raw: the typed client refuses these fields and passwords before sending them.
    const invalid = await call("POST", "/api/v1/auth/register", { body: { email: "nope", password: "short", fullName: "" } })
    expect(invalid.status).toBe(400)
    expect(invalid.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["email", "fullName", "password"])
    const long = await call("POST", "/api/v1/auth/register", {
      body: { email: uniqueEmail(), password: "é".repeat(37), fullName: "Long" }
    })
    expect(long.status).toBe(400)
    expect(long.body.errors[0]).toMatchObject({ path: "password", message: expect.stringContaining("72 bytes") })
  })

  it("answers a wrong password and an unknown email identically", async () => {
    const user = await register()
    const wrongPassword = await failureAndResponse(login(user.email, "not the password"), "InvalidCredentials")
    const unknownEmail = await failureAndResponse(login(uniqueEmail(), "not the password"), "InvalidCredentials")
    expect(wrongPassword.error.status).toBe(401)
    expect(unknownEmail.error.status).toBe(401)
    expect(problemBody(wrongPassword.response)).toEqual(problemBody(unknownEmail.response))
    expect(wrongPassword.error.code).toBe("invalid_credentials")
    await ok(login(user.email.toUpperCase(), user.password), 200)
  })
})

describe("token attacks on every protected route", () => {
  const protectedRoutes: Array<{ method: string; path: string }> = []
  HttpApi.reflect(CoreApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, middleware }) => {
      if (middleware.has(Authentication as never)) {
        protectedRoutes.push({ method: endpoint.method, path: endpoint.path.replace(/:\w+/g, "3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a") })
      }
    }
  })

  it("knows the protected routes from the HttpApi definition", () => {
    expect(protectedRoutes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining([
      "GET /api/v1/users/me",
      "POST /api/v1/auth/logout",
      "GET /api/v1/admin/users"
    ]))
  })

  // Raw: every protected route found by reflection, with forged headers, asserting WWW-Authenticate.
  it("refuses none, forged, tampered, foreign, expired and non-access tokens with 401 everywhere", async () => {
    const victim = await register()
    const [header, payload, signature] = victim.tokens.accessToken.split(".") as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>
    const now = Math.floor(Date.now() / 1000)
    const base = { ...claims, iat: now, exp: now + 600 }
    const attacks: Record<string, string> = {
      "alg none": `${b64({ alg: "none", typ: "at+jwt" })}.${b64(base)}.`,
      "tampered signature": `${header}.${payload}.${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`,
      "tampered payload (role admin)": `${header}.${b64({ ...claims, role: "admin" })}.${signature}`,
      "other secret": await sign(base, undefined, new TextEncoder().encode("x".repeat(48))),
      "HS512 with the right secret": await sign(base, { alg: "HS512", typ: "at+jwt" }),
      "wrong audience": await sign({ ...base, aud: "someone-else" }),
      "wrong issuer": await sign({ ...base, iss: "evil" }),
      "wrong typ": await sign(base, { alg: "HS256", typ: "JWT" }),
      "no typ": await sign(base, { alg: "HS256" }),
      "expired": await sign({ ...base, iat: now - 3600, exp: now - 60 }),
      "refresh token as access token": victim.tokens.refreshToken,
      "random string": "not-a-token",
      "empty": ""
    }
    for (const route of protectedRoutes) {
      for (const [name, token] of Object.entries(attacks)) {
        const result = await call(route.method, route.path, { token })
        expect(result.status, `${name} on ${route.method} ${route.path}`).toBe(401)
        expect(result.body.code, name).toBe(name === "expired" ? "token_expired" : "unauthorized")
        expect(result.headers.get("www-authenticate")).toContain("Bearer")
      }
      const noHeader = await call(route.method, route.path)
      expect(noHeader.status).toBe(401)
      const basic = await call(route.method, route.path, { headers: { authorization: "Basic dXNlcjpwYXNz" } })
      expect(basic.status).toBe(401)
    }
    // The genuine token still works: the attacks above were refused for what they are.
    await ok(me(victim.tokens.accessToken), 200)
  })
})

describe("refresh tokens", () => {
  it("rotate on every use, tolerate a concurrent double refresh, and revoke the family on reuse", async () => {
    const user = await register()
    const refresh = (refreshToken: string) => api().auth.refresh({ payload: { refreshToken } })
    const first = await ok(refresh(user.tokens.refreshToken), 200)
    expect(first.tokens.refreshToken).not.toBe(user.tokens.refreshToken)
    // Within the grace window the previous token still works (a client racing itself).
    await ok(refresh(user.tokens.refreshToken), 200)
    await new Promise((resolve) => setTimeout(resolve, 5_300))
    const replay = await failure(refresh(user.tokens.refreshToken), "RefreshTokenReused")
    expect(replay.status).toBe(401)
    expect(replay.code).toBe("refresh_token_reused")
    const newest = await failure(refresh(first.tokens.refreshToken), "InvalidRefreshToken")
    expect(newest.status).toBe(401)
    expect(newest.code).toBe("invalid_refresh_token")
    await new Promise((resolve) => setTimeout(resolve, 600))
    const revoked = await failure(me(first.tokens.accessToken), "Unauthorized")
    expect(revoked.status).toBe(401)
    expect(revoked.code).toBe("session_revoked")
  }, 20_000)

  it("refuses malformed and unknown refresh tokens", async () => {
    // Raw: the typed client refuses an empty and an oversized token before sending them.
    for (const refreshToken of ["", "x".repeat(600)]) {
      const result = await call("POST", "/api/v1/auth/refresh", { body: { refreshToken } })
      expect(result.status, refreshToken.slice(0, 20)).toBeGreaterThanOrEqual(400)
      expect(result.status).toBeLessThan(500)
    }
    for (const refreshToken of ["abc.def", `${"A".repeat(22)}.${"B".repeat(43)}`]) {
      const { response } = await failureAndResponse(api().auth.refresh({ payload: { refreshToken } }))
      expect(response?.status, refreshToken.slice(0, 20)).toBeGreaterThanOrEqual(400)
      expect(response?.status).toBeLessThan(500)
    }
  })
})

describe("logout", () => {
  it("ends the session at once: its access and refresh tokens stop working", async () => {
    const user = await register()
    const other = await ok(login(user.email, user.password))
    expect(await attempt(api(user.tokens.accessToken).auth.logout())).toMatchObject({ _tag: "Success", status: 204 })
    const revoked = await failure(me(user.tokens.accessToken), "Unauthorized")
    expect(revoked.status).toBe(401)
    expect(revoked.code).toBe("session_revoked")
    const refreshed = await failure(api().auth.refresh({ payload: { refreshToken: user.tokens.refreshToken } }))
    expect(refreshed).toMatchObject({ status: 401 })
    // Another session of the same user is untouched.
    await ok(me(other.tokens.accessToken), 200)
  })
})

describe("password reset", () => {
  // An app that runs its worker, as `npm start` does: the reset mail is really composed and sent
  // (to a recording mailer), from a job that names the request and carries no token.
  const mailer = recordingMailer()
  let resetApp: ReturnType<typeof makeTestApp>
  beforeAll(() => {
    resetApp = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), worker: true, overrides: Layer.merge(JobQueueLayers.layerMemory, mailer.layer) })
  })
  afterAll(() => resetApp?.dispose())
  const resetApi = typedClient(() => resetApp, { onExchange: (exchange) => seenBodies.push(exchange.text) })
  const requestReset = (email: string) => resetApi().auth.requestPasswordReset({ payload: { email } })
  const confirmReset = (token: string, newPassword: string) => resetApi().auth.confirmPasswordReset({ payload: { token, newPassword } })
  const mailedToken = (email: string, count = 1) =>
    waitFor(`reset mail ${count} to ${email}`, 5000, async () => (await mailer.resetTokens(email))[count - 1])

  it("answers 202 for any email, mails a single-use link, and ends every session on use", async () => {
    const unknown = uniqueEmail()
    await ok(requestReset(unknown), 202)

    const user = await register()
    await ok(requestReset(user.email), 202)
    const token = await mailedToken(user.email)
    expect(await mailer.resetTokens(unknown)).toEqual([])
    // Neither the database nor the job table holds the token in the clear.
    const stored = await query<{ token_hash: string }>(`SELECT token_hash FROM password_reset_requests WHERE user_id = '${user.user.id}'`)
    expect(stored.map((row) => row.token_hash)).not.toContain(token)
    const jobRows = await query<{ element: string }>(`SELECT element FROM job_queue`).catch(() => [])
    expect(JSON.stringify(jobRows)).not.toContain(token)

    await ok(confirmReset(token, "a brand new secret"), 204)
    expect(await failure(login(user.email, user.password))).toMatchObject({ status: 401 })
    await ok(login(user.email, "a brand new secret"), 200)
    expect(await failure(me(user.tokens.accessToken))).toMatchObject({ status: 401 })

    const again = await failure(confirmReset(token, "yet another one"), "InvalidResetToken")
    expect(again.status).toBe(400)
    expect(again.code).toBe("invalid_reset_token")
  })

  it("a newer link invalidates the older one", async () => {
    const user = await register()
    await ok(requestReset(user.email), 202)
    const older = await mailedToken(user.email, 1)
    await ok(requestReset(user.email), 202)
    const newer = await mailedToken(user.email, 2)
    await failure(confirmReset(older, "an older link's secret"), "InvalidResetToken")
    await ok(confirmReset(newer, "the newer link's secret"), 204)
  })

  it("refuses an expired token", async () => {
    const user = await register()
    await ok(requestReset(user.email), 202)
    const token = await mailedToken(user.email)
    await query(`UPDATE password_reset_requests SET expires_at = now() - interval '1 minute' WHERE user_id = '${user.user.id}'`)
    const expired = await failure(confirmReset(token, "too late now"), "InvalidResetToken")
    expect(expired.status).toBe(400)
    expect(expired.code).toBe("invalid_reset_token")
  })
})

describe("my account", () => {
  it("updates profile fields and refuses every other property without applying anything", async () => {
    const user = await register()
    // Raw: the typed client refuses to send a name that is not trimmed (the server trims it).
    const updated = await call("PATCH", "/api/v1/users/me", {
      token: user.tokens.accessToken,
      body: { fullName: "  New Name ", avatarUrl: "https://cdn.example.com/a.png" }
    })
    expect(updated.status).toBe(200)
    expect(updated.body).toMatchObject({ fullName: "New Name", avatarUrl: "https://cdn.example.com/a.png" })
    // Raw: unknown properties, which the typed client refuses to send.
    for (const forbidden of [{ role: "admin" }, { email: "x@example.com" }, { plan: "enterprise" }, { id: "3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a" }, { createdAt: "2020-01-01T00:00:00Z" }, { disabled: true }, { passwordHash: "x" }]) {
      const result = await call("PATCH", "/api/v1/users/me", { token: user.tokens.accessToken, body: { fullName: "Sneaky", ...forbidden } })
      expect(result.status, JSON.stringify(forbidden)).toBe(400)
      expect(result.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ path: Object.keys(forbidden)[0] })]))
    }
    expect(await ok(me(user.tokens.accessToken))).toMatchObject({ fullName: "New Name", role: "user", email: user.email })
    // Raw: the typed client refuses an avatar URL that is not https before sending it.
    expect((await call("PATCH", "/api/v1/users/me", { token: user.tokens.accessToken, body: { avatarUrl: "javascript:alert(1)" } })).status).toBe(400)
  })

  it("changes the password with the current one and ends the other sessions only", async () => {
    const user = await register()
    const other = await ok(login(user.email, user.password))
    const changePassword = (currentPassword: string) =>
      api(user.tokens.accessToken).me.changePassword({ payload: { currentPassword, newPassword: "next password 1" } })
    const wrong = await failure(changePassword("nope nope"), "IncorrectPassword")
    expect(wrong.status).toBe(403)
    expect(wrong.code).toBe("incorrect_password")
    await ok(changePassword(user.password), 204)
    await new Promise((resolve) => setTimeout(resolve, 600))
    await ok(me(user.tokens.accessToken), 200)
    expect(await failure(me(other.tokens.accessToken))).toMatchObject({ status: 401 })
    await ok(login(user.email, "next password 1"), 200)
  })

  it("deletes the account and its data in one go, after re-authentication", async () => {
    const user = await register()
    const deleteAccount = (password: string) => api(user.tokens.accessToken).me.delete({ payload: { password } })
    expect(await failure(deleteAccount("wrong password"))).toMatchObject({ status: 403 })
    await ok(deleteAccount(user.password), 204)
    const rows = await query<{ n: string }>(`SELECT (SELECT count(*) FROM users WHERE id = '${user.user.id}') + (SELECT count(*) FROM subscriptions WHERE user_id = '${user.user.id}') AS n`)
    expect(Number(rows[0]!.n)).toBe(0)
    expect(await failure(me(user.tokens.accessToken))).toMatchObject({ status: 401 })
    expect(await failure(login(user.email, user.password))).toMatchObject({ status: 401 })
    const cleanup = (await Effect.runPromise(Ref.get(jobs))).filter((job) => job._tag === "account.cleanup" && job.userId === user.user.id)
    expect(cleanup).toHaveLength(1)
  })
  it("keeps the account when the cleanup of its files cannot be queued (one unit of work)", async () => {
    const user = await register()
    const deleteAccount = () => api(user.tokens.accessToken).me.delete({ payload: { password: user.password } })
    failNextEnqueue = true
    expect(await failure(deleteAccount())).toMatchObject({ status: 503 })
    const rows = await query<{ n: string }>(`SELECT count(*) AS n FROM users WHERE id = '${user.user.id}'`)
    expect(Number(rows[0]!.n)).toBe(1)
    await ok(me(user.tokens.accessToken), 200)
    // Retried once the queue is back: deleted, with its cleanup queued.
    await ok(deleteAccount(), 204)
    const cleanup = (await Effect.runPromise(Ref.get(jobs))).filter((job) => job._tag === "account.cleanup" && job.userId === user.user.id)
    expect(cleanup).toHaveLength(1)
  })
})

describe("roles", () => {
  it("refuses administration to users (403) and role escalation through any route", async () => {
    const user = await register()
    const admin = api(user.tokens.accessToken).admin
    const list = await failure(admin.listUsers({ query: {} }), "Forbidden")
    expect(list.status).toBe(403)
    expect(list.code).toBe("forbidden")
    const promote = await failure(admin.updateUser({ params: { id: user.user.id }, payload: { role: "admin" } }), "Forbidden")
    expect(promote.status).toBe(403)
    expect((await ok(me(user.tokens.accessToken))).role).toBe("user")
  })

  it("accepts back every cursor it hands out, even after a long non-ASCII email", async () => {
    const admin = await makeAdmin()
    const prefix = `long${Date.now()}`
    // 3 UTF-8 bytes per character: the cursor (base64url of the email) is about 800 characters.
    const created = await Promise.all([1, 2].map((i) => register(`${prefix}${"€".repeat(200)}-${i}@example.com`)))
    const users = api(admin.tokens.accessToken).admin
    const first = await ok(users.listUsers({ query: { limit: 1, email: prefix } }), 200)
    expect(first.nextCursor!.length).toBeGreaterThan(512)
    const second = await ok(users.listUsers({ query: { limit: 1, email: prefix, cursor: first.nextCursor! } }), 200)
    expect([...first.data, ...second.data].map((u) => u.email)).toEqual(created.map((u) => u.email).sort())
  })

  it("lets an admin page through users by email prefix, and disable one (sessions end, login refused)", async () => {
    const admin = await makeAdmin()
    const prefix = `page${Date.now()}`
    const created = await Promise.all([1, 2, 3, 4, 5].map((i) => register(`${prefix}-${i}@example.com`)))
    const users = api(admin.tokens.accessToken).admin
    const seen: Array<string> = []
    let cursor: string | null = null
    do {
      const page: typeof UserPage.Type = await ok(users.listUsers({ query: { limit: 2, email: prefix, ...(cursor ? { cursor } : {}) } }), 200)
      expect(page.data.length).toBeLessThanOrEqual(2)
      seen.push(...page.data.map((u) => u.email))
      cursor = page.nextCursor
    } while (cursor !== null)
    expect(seen).toEqual(created.map((u) => u.email).sort())

    const target = created[0]!
    const disabled = await ok(users.updateUser({ params: { id: target.user.id }, payload: { disabled: true } }), 200)
    expect(disabled.disabled).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(await failure(me(target.tokens.accessToken))).toMatchObject({ status: 401 })
    const refused = await failure(login(target.email, target.password), "AccountDisabled")
    expect(refused.status).toBe(403)
    expect(refused.code).toBe("account_disabled")
    const missing = await failure(
      users.updateUser({ params: { id: "3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a" as UserId }, payload: { disabled: true } }),
      "NotFound"
    )
    expect(missing.status).toBe(404)
    // Raw: the typed client refuses a limit over 100 before sending it.
    expect((await call("GET", "/api/v1/admin/users?limit=1000", { token: admin.tokens.accessToken })).status).toBe(400)
  })
})

describe("brute force", () => {
  it("locks one email from one address after 10 failures, with Retry-After, independently of other addresses", async () => {
    const user = await register()
    for (let i = 0; i < 10; i++) expect(await failure(login(user.email, `wrong ${i} password`))).toMatchObject({ status: 401 })
    const locked = await failureAndResponse(login(user.email, user.password), "TooManyAttempts")
    expect(locked.error.status).toBe(429)
    expect(locked.error.code).toBe("too_many_attempts")
    const retryAfter = Number(locked.response?.headers.get("retry-after"))
    expect(retryAfter).toBeGreaterThan(800)
    expect(retryAfter).toBeLessThanOrEqual(900)
  })
})

describe("OpenAPI", () => {
  // Raw: the document is served beside the API, not one of its endpoints.
  it("documents the auth and user endpoints with their errors and the bearer scheme", async () => {
    const spec = await (await app.handler(new Request("http://test/openapi.json"))).json() as any
    expect(Object.values(spec.components.securitySchemes)).toContainEqual(expect.objectContaining({ type: "http", scheme: "Bearer" }))
    expect(Object.keys(spec.paths["/api/v1/auth/login"].post.responses).sort())
      .toEqual(["200", "400", "401", "403", "404", "405", "413", "414", "415", "429", "500", "503"])
    expect(spec.paths["/api/v1/users/me"].get.security).toEqual([expect.any(Object)])
    expect(Object.keys(spec.paths["/api/v1/users/me"].get.responses)).toEqual(expect.arrayContaining(["200", "401", "404"]))
  })
})

describe("secrets", () => {
  it("never appear in any response of this suite: no password hash, no stored token hash", async () => {
    const everything = seenBodies.join("\n")
    expect(seenBodies.length).toBeGreaterThan(50)
    expect(everything).not.toMatch(/\$2[aby]\$\d\d\$/)
    const stored = await query<{ token_hash: string }>("SELECT token_hash FROM password_reset_requests WHERE token_hash IS NOT NULL")
    expect(stored.length).toBeGreaterThan(0)
    for (const { token_hash } of stored) expect(everything).not.toContain(token_hash)
  })
})
