import { randomUUID } from "node:crypto"
import { createServer, type Server, type Socket } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { realRedisUrl } from "../support/database.ts"
import { validDocument } from "../support/http.ts"
import { expectProblem, securityHarness, SERVICE_KEY } from "../support/security.ts"

/**
 * OWASP API6 (unrestricted access to sensitive business flows) and API7 (server side request
 * forgery), on the real app over real PostgreSQL and Redis.
 */
const h = securityHarness()
beforeAll(h.start)
afterAll(h.stop)

const create = (token: string, name = "Burst") =>
  h.call("POST", "/api/v1/designs", { token, body: { name, productType: "mug", document: validDocument() } })

describe("API6: quota abuse by concurrency", () => {
  it("a free user firing 15 creates and 15 duplicates at once, on two instances, ends with exactly 10 designs", async () => {
    const second = makeTestApp({ databaseUrl: h.databaseUrl(), redisUrl: realRedisUrl() })
    try {
      const user = await h.signUp()
      const source = await create(user.token, "Source")
      expect(source.status).toBe(201)
      const onSecond = async (path: string, body?: unknown) => {
        const response = await second.handler(new Request(`http://test${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) })
        }))
        const text = await response.text()
        return { status: response.status, body: JSON.parse(text) as Record<string, unknown> }
      }
      const burst = await Promise.all([
        ...Array.from({ length: 15 }, (_, i) =>
          i % 2 === 0 ? create(user.token, `Burst ${i}`) : onSecond("/api/v1/designs", { name: `Burst ${i}`, productType: "mug", document: validDocument() })),
        ...Array.from({ length: 15 }, (_, i) =>
          i % 2 === 0
            ? h.call("POST", `/api/v1/designs/${source.body.id}/duplicate`, { token: user.token })
            : onSecond(`/api/v1/designs/${source.body.id}/duplicate`))
      ])
      const statuses = burst.map((r) => r.status)
      expect(statuses.filter((s) => s === 201)).toHaveLength(9)
      expect(statuses.filter((s) => s === 402)).toHaveLength(21)
      for (const refused of burst.filter((r) => r.status === 402)) {
        expect(refused.body).toMatchObject({ code: "quota_exceeded", limit: 10, used: 10 })
      }
      const [designs] = await h.query<{ n: string }>("SELECT count(*) AS n FROM designs WHERE owner_id = $1", [user.id])
      expect(Number(designs!.n)).toBe(10)
      const usage = await h.call("GET", "/api/v1/subscriptions/me/usage", { token: user.token })
      expect(usage.body).toMatchObject({ designsCreated: 10, designsLimit: 10, remaining: 0 })
      const list = await h.call("GET", "/api/v1/designs?limit=100", { token: user.token })
      expect(list.body.data).toHaveLength(10)
    } finally {
      await second.dispose()
    }
  })

  it("deleting and re-creating does not refill the quota, and downgrading mid-month keeps the month's count", async () => {
    const user = await h.signUp()
    const ids: Array<string> = []
    for (let i = 0; i < 10; i++) ids.push((await create(user.token)).body.id)
    await Promise.all(ids.map((id) => h.call("DELETE", `/api/v1/designs/${id}`, { token: user.token })))
    expect((await create(user.token)).status).toBe(402)
    // Up to pro and straight back down: the month's 10 still count against free.
    const setPlan = (plan: string) => h.call("PUT", `/api/v1/internal/subscriptions/${user.id}`, { serviceKey: SERVICE_KEY, body: { plan, status: "active" } })
    expect((await setPlan("pro")).status).toBe(200)
    expect((await create(user.token)).status).toBe(201)
    expect((await setPlan("free")).status).toBe(200)
    const refused = await create(user.token)
    expect(refused.status).toBe(402)
    expect(refused.body).toMatchObject({ code: "quota_exceeded", limit: 10 })
    expect(refused.body.used).toBeGreaterThanOrEqual(10)
  })

  // Each attempt is counted atomically before its password is checked, so a parallel burst
  // cannot slip under the limit: at most 10 passwords are ever checked.
  it("a burst of wrong passwords checks at most 10 and ends locked: the right password is then refused with 429", async () => {
    const user = await h.signUp()
    const attempts = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      h.call("POST", "/api/v1/auth/login", { body: { email: user.email, password: `wrong password ${i}` } })))
    const evaluated = attempts.filter((r) => r.status === 401).length
    const locked = attempts.filter((r) => r.status === 429).length
    expect(evaluated + locked).toBe(30)
    expect(evaluated).toBeLessThanOrEqual(10)
    const right = await h.call("POST", "/api/v1/auth/login", { body: { email: user.email, password: "correct horse battery" } })
    expect(right.status).toBe(429)
    expectProblem(right)
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0)
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

  const imageDocument = (assetId: string) => ({
    ...validDocument(),
    layers: [{ id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId }]
  })

  it("accepts only asset ids in image layers: URLs (metadata service, loopback) are 400", async () => {
    const user = await h.signUp()
    const design = (await create(user.token)).body
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
    const target = `https://127.0.0.1:${port}/avatar.png`
    const avatar = await h.call("PATCH", "/api/v1/users/me", { token: user.token, body: { avatarUrl: target } })
    expect(avatar.status).toBe(200)
    expect(avatar.body.avatarUrl).toBe(target)
    expect((await h.call("PATCH", "/api/v1/users/me", { token: user.token, body: { avatarUrl: `http://127.0.0.1:${port}/a.png` } })).status).toBe(400)
    expect((await h.call("GET", "/api/v1/users/me", { token: user.token })).body.avatarUrl).toBe(target)

    const design = (await create(user.token)).body
    expect((await h.call("POST", "/api/v1/designs", { token: user.token, body: { name: "x", productType: "mug", document: imageDocument(target) } })).status).toBe(400)
    const job = await h.call("POST", `/api/v1/designs/${design.id}/render`, { token: user.token, body: {} })
    const report = await h.call("PUT", `/api/v1/internal/jobs/${job.body.jobId}`, { serviceKey: SERVICE_KEY, body: { status: "completed", resultUrl: `https://127.0.0.1:${port}/render.png` } })
    expect(report.status).toBe(200)
    expect((await h.call("GET", `/api/v1/jobs/${job.body.jobId}`, { token: user.token })).body.resultUrl).toBe(`https://127.0.0.1:${port}/render.png`)
    await h.call("POST", `/api/v1/designs/${design.id}/duplicate`, { token: user.token })
    await h.call("GET", `/api/v1/designs/${design.id}/similar`, { token: user.token })

    // Upload URLs come from PUBLIC_BASE_URL, never from what the client says the host is.
    const ticket = await h.call("POST", `/api/v1/designs/${design.id}/assets`, {
      token: user.token,
      headers: { "x-forwarded-host": `127.0.0.1:${port}`, forwarded: `host=127.0.0.1:${port}` },
      body: { fileName: `http://127.0.0.1:${port}/x.png`, contentType: "image/png", byteSize: 10 }
    })
    expect(ticket.status).toBe(201)
    expect(ticket.body.uploadUrl).not.toContain(String(port))
    const fromEvilHost = await h.app().handler(new Request(`http://127.0.0.1:${port}/api/v1/designs/${design.id}/assets`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: JSON.stringify({ fileName: "y.png", contentType: "image/png", byteSize: 10 })
    }))
    const evilTicket = await fromEvilHost.json() as { uploadUrl: string }
    expect(fromEvilHost.status).toBe(201)
    expect(evilTicket.uploadUrl).not.toContain(String(port))
    const complete = await h.call("POST", `/api/v1/designs/${design.id}/assets/${ticket.body.assetId}/complete`, { token: user.token })
    expect(complete.status).toBe(409)

    // Give any background fetch a moment to happen.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(connections).toEqual([])
  })
})
