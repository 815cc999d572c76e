import { randomUUID } from "node:crypto"
import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { client, uniqueEmail, validDocument } from "../support/http.ts"

const SERVICE_KEY = "r".repeat(40)
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
const call = client(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), config: { serviceApiKeys: [Redacted.make(SERVICE_KEY)] } })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const signUp = async () =>
  (await call("POST", "/api/v1/auth/register", { body: { email: uniqueEmail(), password: "correct horse battery", fullName: "J" } }))
    .body.tokens.accessToken as string

describe("render jobs", () => {
  it("queue a render (202), report progress through the internal route, and show it to the owner only", async () => {
    const token = await signUp()
    const other = await signUp()
    const design = (await call("POST", "/api/v1/designs", { token, body: { name: "Print me", productType: "poster", document: validDocument() } })).body
    const queued = await call("POST", `/api/v1/designs/${design.id}/render`, { token, body: {} })
    expect(queued.status).toBe(202)
    expect(queued.body).toEqual({ jobId: expect.any(String), status: "queued" })

    const report = (body: unknown, headers: Record<string, string> = { "x-service-key": SERVICE_KEY }) =>
      call("PUT", `/api/v1/internal/jobs/${queued.body.jobId}`, { headers, body })
    expect((await report({ status: "processing" })).body.status).toBe("processing")
    const done = await report({ status: "completed", resultUrl: "https://cdn.customify.app/renders/1.png" })
    expect(done.body).toMatchObject({ status: "completed", resultUrl: "https://cdn.customify.app/renders/1.png" })

    const seen = await call("GET", `/api/v1/jobs/${queued.body.jobId}`, { token })
    expect(seen.body).toMatchObject({ jobId: queued.body.jobId, designId: design.id, kind: "render", status: "completed" })
    expect((await call("GET", `/api/v1/jobs/${queued.body.jobId}`, { token: other })).status).toBe(404)
    expect((await call("GET", `/api/v1/jobs/${randomUUID()}`, { token })).status).toBe(404)

    // Users cannot report progress; result URLs must be https.
    expect((await report({ status: "failed" }, { authorization: `Bearer ${token}` })).status).toBe(403)
    expect((await report({ status: "completed", resultUrl: "javascript:alert(1)" })).status).toBe(400)
  })

  it("answer 404 for someone else's design and queue PDFs too", async () => {
    const owner = await signUp()
    const other = await signUp()
    const design = (await call("POST", "/api/v1/designs", { token: owner, body: { name: "PDF", productType: "poster", document: validDocument() } })).body
    expect((await call("POST", `/api/v1/designs/${design.id}/render`, { token: other, body: {} })).status).toBe(404)
    const pdf = await call("POST", `/api/v1/designs/${design.id}/render`, { token: owner, body: { kind: "pdf" } })
    expect(pdf.status).toBe(202)
    expect((await call("GET", `/api/v1/jobs/${pdf.body.jobId}`, { token: owner })).body.kind).toBe("pdf")
  })
})
