import { randomUUID } from "node:crypto"
import { createServer, type Server, type Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { PlanId } from "../../src/domain/Subscription.ts"
import { makeTestApp } from "../support/app.ts"
import { realRedisUrl } from "../support/database.ts"
import { validDocument } from "../support/http.ts"
import { asSent, expectProblem, securityHarness, SERVICE_KEY } from "../support/security.ts"
import { attempt, failure, failureAndResponse, ok, typedClient } from "../support/typedClient.ts"

/**
 * OWASP API6 (unrestricted access to sensitive business flows) and API7 (server side request
 * forgery), on the real app over real PostgreSQL and Redis.
 */
const h = securityHarness()
beforeAll(h.start)
afterAll(h.stop)

const create = (token: string, name = "Burst") =>
  h.api(token).designs.create({ payload: { name, productType: "mug", document: validDocument() } })

describe("API6: quota abuse by concurrency", () => {
  it("a free user firing 15 creates and 15 duplicates at once, on two instances, ends with exactly 10 designs", async () => {
    const second = makeTestApp({ databaseUrl: h.databaseUrl(), redisUrl: realRedisUrl() })
    try {
      const user = await h.signUp()
      const source = await ok(create(user.token, "Source"), 201)
      const first = h.api(user.token).designs
      const onSecond = typedClient(() => second)(user.token).designs
      const payload = (i: number) => ({ name: `Burst ${i}`, productType: "mug", document: validDocument() })
      const burst = await Promise.all([
        ...Array.from({ length: 15 }, (_, i) => attempt((i % 2 === 0 ? first : onSecond).create({ payload: payload(i) }))),
        ...Array.from({ length: 15 }, (_, i) => attempt((i % 2 === 0 ? first : onSecond).duplicate({ params: { id: source.id } })))
      ])
      const statuses = burst.map((r) => r.status)
      expect(statuses.filter((s) => s === 201)).toHaveLength(9)
      expect(statuses.filter((s) => s === 402)).toHaveLength(21)
      for (const refused of burst.filter((r) => r.status === 402)) {
        expect(refused).toMatchObject({ _tag: "Failure", error: { code: "quota_exceeded", limit: 10, used: 10 } })
      }
      const [designs] = await h.query<{ n: string }>("SELECT count(*) AS n FROM designs WHERE owner_id = $1", [user.id])
      expect(Number(designs!.n)).toBe(10)
      const usage = await ok(h.api(user.token).subscriptions.usage())
      expect(usage).toMatchObject({ designsCreated: 10, designsLimit: 10, remaining: 0 })
      const list = await ok(first.list({ query: { limit: 100 } }))
      expect(list.data).toHaveLength(10)
    } finally {
      await second.dispose()
    }
  })

  it("deleting and re-creating does not refill the quota, and downgrading mid-month keeps the month's count", async () => {
    const user = await h.signUp()
    const designs = h.api(user.token).designs
    const ids = []
    for (let i = 0; i < 10; i++) ids.push((await ok(create(user.token))).id)
    await Promise.all(ids.map((id) => attempt(designs.delete({ params: { id } }))))
    expect(await failure(create(user.token))).toMatchObject({ status: 402 })
    // Up to pro and straight back down: the month's 10 still count against free.
    const setPlan = (plan: PlanId) =>
      h.api({ serviceKey: SERVICE_KEY }).internal.setSubscription({ params: { userId: user.id }, payload: { plan, status: "active" } })
    await ok(setPlan("pro"), 200)
    await ok(create(user.token), 201)
    await ok(setPlan("free"), 200)
    const refused = await failure(create(user.token), "QuotaExceeded")
    expect(refused.status).toBe(402)
    expect(refused).toMatchObject({ code: "quota_exceeded", limit: 10 })
    expect(refused.used).toBeGreaterThanOrEqual(10)
  })

  // Each attempt is counted atomically before its password is checked, so a parallel burst
  // cannot slip under the limit: at most 10 passwords are ever checked.
  it("a burst of wrong passwords checks at most 10 and ends locked: the right password is then refused with 429", async () => {
    const user = await h.signUp()
    const login = (password: string) => h.api().auth.login({ payload: { email: user.email, password } })
    const attempts = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(login(`wrong password ${i}`))))
    const evaluated = attempts.filter((r) => r.status === 401).length
    const locked = attempts.filter((r) => r.status === 429).length
    expect(evaluated + locked).toBe(30)
    expect(evaluated).toBeLessThanOrEqual(10)
    const right = await failureAndResponse(login("correct horse battery"), "TooManyAttempts")
    expect(right.error.status).toBe(429)
    expectProblem(asSent(right.response))
    expect(Number(right.response?.headers.get("retry-after"))).toBeGreaterThan(0)
  })
})

describe("API7: server side request forgery", () => {
  let server: Server
  let port = 0
  const connections: Array<string> = []
  const sockets = new Set<Socket>()

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket)
      socket.once("data", (chunk) => connections.push(chunk.toString("latin1").split("\r\n")[0] ?? "?"))
      connections.push("connect")
      socket.on("close", () => sockets.delete(socket))
      socket.end("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const address = server.address()
    port = typeof address === "object" && address !== null ? address.port : 0
  })
  afterAll(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  const imageDocument = (assetId: string): DesignDocument => ({
    ...validDocument(),
    layers: [{ id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId }]
  })

  it("accepts only asset ids in image layers: URLs (metadata service, loopback) are 400", async () => {
    const user = await h.signUp()
    const design = await ok(create(user.token))
    // Raw: an image layer's assetId is a UUID to the typed client, which refuses these before sending them.
    for (const assetId of [
      "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
      "https://169.254.169.254/latest/meta-data/",
      `http://127.0.0.1:${port}/image.png`,
      `https://127.0.0.1:${port}/image.png`,
      "file:///etc/passwd",
      "//evil.example.com/x.png",
      "gopher://127.0.0.1:6379/_FLUSHALL",
      `${randomUUID()}@127.0.0.1`,
      `${randomUUID()}/../../x`
    ]) {
      const created = await h.call("POST", "/api/v1/designs", { token: user.token, body: { name: "SSRF", productType: "mug", document: imageDocument(assetId) } })
      expect(created.status, assetId).toBe(400)
      expect(created.body.errors, assetId).toEqual([expect.objectContaining({ path: "document.layers.0.assetId" })])
      const updated = await h.call("PATCH", `/api/v1/designs/${design.id}`, { token: user.token, body: { version: 1, document: imageDocument(assetId) } })
      expect(updated.status, assetId).toBe(400)
    }
  })

  it("stores an avatar URL and a job result URL without ever fetching them, and ignores Host headers for upload URLs", async () => {
    const user = await h.signUp()
    const as = h.api(user.token)
    const target = `https://127.0.0.1:${port}/avatar.png`
    const avatar = await ok(as.me.update({ payload: { avatarUrl: target } }), 200)
    expect(avatar.avatarUrl).toBe(target)
    // Raw: the typed client refuses an avatar URL that is not https before sending it.
    expect((await h.call("PATCH", "/api/v1/users/me", { token: user.token, body: { avatarUrl: `http://127.0.0.1:${port}/a.png` } })).status).toBe(400)
    expect((await ok(as.me.get())).avatarUrl).toBe(target)

    const design = await ok(create(user.token))
    // Raw: a URL as an image layer's assetId, which the typed client refuses to send.
    expect((await h.call("POST", "/api/v1/designs", { token: user.token, body: { name: "x", productType: "mug", document: imageDocument(target) } })).status).toBe(400)
    const job = await ok(as.jobs.render({ params: { id: design.id }, payload: {} }))
    const resultUrl = `https://127.0.0.1:${port}/render.png`
    await ok(h.api({ serviceKey: SERVICE_KEY }).internal.reportJob({ params: { jobId: job.id }, payload: { status: "completed", resultUrl } }), 200)
    expect((await ok(as.jobs.get({ params: { jobId: job.id } }))).resultUrl).toBe(resultUrl)
    await attempt(as.designs.duplicate({ params: { id: design.id } }))
    await attempt(as.ai.similar({ params: { id: design.id }, query: {} }))

    // Upload URLs come from PUBLIC_BASE_URL, never from what the client says the host is.
    const forwarded = h.api({ token: user.token, headers: { "x-forwarded-host": `127.0.0.1:${port}`, forwarded: `host=127.0.0.1:${port}` } })
    const ticket = await ok(forwarded.assets.requestUpload({
      params: { id: design.id },
      payload: { fileName: `http://127.0.0.1:${port}/x.png`, contentType: "image/png", byteSize: 10 }
    }), 201)
    expect(ticket.uploadUrl).not.toContain(String(port))
    const fromEvilHost = typedClient(() => h.app(), { baseUrl: `http://127.0.0.1:${port}` })(user.token)
    const evilTicket = await ok(fromEvilHost.assets.requestUpload({
      params: { id: design.id },
      payload: { fileName: "y.png", contentType: "image/png", byteSize: 10 }
    }), 201)
    expect(evilTicket.uploadUrl).not.toContain(String(port))
    const complete = await failure(as.assets.complete({ params: { id: design.id, assetId: ticket.assetId } }), "AssetNotUploaded")
    expect(complete.status).toBe(409)

    // Give any background fetch a moment to happen.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(connections).toEqual([])
  })
})
