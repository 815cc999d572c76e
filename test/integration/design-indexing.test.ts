import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { ok, typedClient } from "../support/typedClient.ts"

// Similar-design search configured (fake model, memory index), jobs on the PostgreSQL queue.
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
let databaseUrl: string
const api = typedClient(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl(), overrides: Layer.merge(LanguageModel.layerFake, VectorIndex.layerMemory) })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const sql = (statement: string) =>
  Effect.runPromise(Effect.gen(function*() {
    return yield* (yield* SqlClient.SqlClient).unsafe<{ n: string }>(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

const indexJobsFor = async (designId: string) =>
  Number((await sql(`SELECT count(*) AS n FROM job_queue WHERE element LIKE '%design.index%' AND element LIKE '%${designId}%'`))[0]!.n)

const signUp = async () =>
  (await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "I" } }))).tokens.accessToken
const create = (token: string) =>
  ok(api(token).designs.create({ payload: { name: "Indexed", productType: "mug", document: validDocument() } }), 201)

describe("design writes and their index jobs (real PostgreSQL queue)", () => {
  it("queues the index job with the design", async () => {
    const created = await create(await signUp())
    expect(await indexJobsFor(created.id)).toBe(1)
  })

  it("still commits the design when its index job cannot be written (best effort, in a savepoint)", async () => {
    const token = await signUp()
    await sql("ALTER TABLE job_queue RENAME TO job_queue_away")
    let created
    try {
      created = await create(token)
    } finally {
      await sql("ALTER TABLE job_queue_away RENAME TO job_queue")
    }
    await ok(api(token).designs.get({ params: { id: created.id } }), 200)
    expect(await indexJobsFor(created.id)).toBe(0)
  })
})
