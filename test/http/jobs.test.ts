import { randomUUID } from "node:crypto"
import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import type { JobProgress } from "../../src/api/Jobs.ts"
import type { RenderJobId } from "../../src/domain/Jobs.ts"
import { client, uniqueEmail, validDocument } from "../support/http.ts"
import { type Caller, failure, ok, typedClient } from "../support/typedClient.ts"

const SERVICE_KEY = "r".repeat(40)
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
const api = typedClient(() => app)
/** Raw requests: only for values the typed client's schemas refuse to send. */
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
  (await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "J" } })))
    .tokens.accessToken

const createDesign = (token: string, name: string) =>
  ok(api(token).designs.create({ payload: { name, productType: "poster", document: validDocument() } }))

describe("render jobs", () => {
  it("queue a render with no body, an empty body, null or {}: every field of the request is optional", async () => {
    const token = await signUp()
    const design = await createDesign(token, "No body")
    const path = `/api/v1/designs/${design.id}/render`
    const answers = [
      await call("POST", path, { token }),
      await call("POST", path, { token, headers: { "content-type": "application/json" } }),
      await call("POST", path, { token, body: null }),
      await call("POST", path, { token, body: {} })
    ]
    expect(answers.map((answer) => [answer.status, answer.body?.status]), JSON.stringify(answers.map((a) => a.body))).toEqual(Array(4).fill([202, "queued"]))
    const pdf = await ok(api(token).jobs.get({ params: { jobId: (await ok(api(token).jobs.render({ params: { id: design.id }, payload: { kind: "pdf" } }))).id } }))
    expect(pdf.kind).toBe("pdf")
    // Not a way around the schema: a body that is not an object is still refused.
    expect((await call("POST", path, { token, body: [] })).status).toBe(400)
  })

  it("queue a render (202), report progress through the internal route, and show it to the owner only", async () => {
    const token = await signUp()
    const other = await signUp()
    const design = await createDesign(token, "Print me")
    const queued = await ok(api(token).jobs.render({ params: { id: design.id }, payload: {} }), 202)
    expect(queued).toEqual({ id: expect.any(String), status: "queued" })

    const report = (payload: typeof JobProgress.Type, caller: Caller = { serviceKey: SERVICE_KEY }) =>
      api(caller).internal.reportJob({ params: { jobId: queued.id }, payload })
    expect((await ok(report({ status: "processing" }))).status).toBe("processing")
    const done = await ok(report({ status: "completed", resultUrl: "https://cdn.customify.app/renders/1.png" }))
    expect(done).toMatchObject({ status: "completed", resultUrl: "https://cdn.customify.app/renders/1.png" })

    const seen = await ok(api(token).jobs.get({ params: { jobId: queued.id } }))
    expect(seen).toMatchObject({ id: queued.id, designId: design.id, kind: "render", status: "completed" })
    expect((await failure(api(other).jobs.get({ params: { jobId: queued.id } }), "NotFound")).status).toBe(404)
    expect((await failure(api(token).jobs.get({ params: { jobId: randomUUID() as RenderJobId } }), "NotFound")).status).toBe(404)

    // Users cannot report progress; result URLs must be https.
    expect((await failure(report({ status: "failed" }, { token }), "Forbidden")).status).toBe(403)
    // Raw: the typed client refuses a result URL that is not https before sending it.
    const javascript = await call("PUT", `/api/v1/internal/jobs/${queued.id}`, {
      headers: { "x-service-key": SERVICE_KEY },
      body: { status: "completed", resultUrl: "javascript:alert(1)" }
    })
    expect(javascript.status).toBe(400)
  })

  it("answer 404 for someone else's design and queue PDFs too", async () => {
    const owner = await signUp()
    const other = await signUp()
    const design = await createDesign(owner, "PDF")
    expect((await failure(api(other).jobs.render({ params: { id: design.id }, payload: {} }), "NotFound")).status).toBe(404)
    const pdf = await ok(api(owner).jobs.render({ params: { id: design.id }, payload: { kind: "pdf" } }), 202)
    expect((await ok(api(owner).jobs.get({ params: { jobId: pdf.id } }))).kind).toBe("pdf")
  })
})
