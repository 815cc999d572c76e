import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as JobQueue from "../../src/capabilities/queue/JobQueue.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import type { UserId } from "../../src/domain/User.ts"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"
import { logLines, startS3Stub, waitFor } from "../support/faults.ts"

/**
 * A worker killed (SIGKILL) in the middle of an `account.cleanup`: the job is not lost, another
 * worker picks it up once the dead worker's lock expires (PersistedQueue's lockExpiration, 30 s),
 * and its effect (the user's stored objects deleted) happens exactly once.
 *
 * The cleanup deletes through S3; a stub S3 holds the first worker's ListObjectsV2 unanswered,
 * so the test knows the job is being handled when it kills the worker.
 */
const LOCK_EXPIRATION_MS = 30_000
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
const started: Array<ReturnType<typeof startWorker>> = []
let stub: Awaited<ReturnType<typeof startS3Stub>>
let holdListing = true

const startWorker = (env: Record<string, string>) => {
  const child = spawn(process.execPath, ["src/worker.ts"], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk: Buffer) => void (stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => void (stderr += chunk.toString()))
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code))
  )
  return { child, exited, output: () => ({ stdout, stderr }) }
}

const runSql = <A>(body: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(Effect.service(SqlClient.SqlClient), body).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))
    ) as Effect.Effect<A>
  )

interface JobRow {
  readonly state: string
  readonly attempts: number
  readonly acquiredAt: Date | null
}
const jobRow = async (id: string) =>
  (await runSql((sql) => sql<JobRow>`SELECT state, attempts, acquired_at FROM job_queue WHERE id = ${id}`))[0]

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs a real PostgreSQL")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  stub = await startS3Stub((request) =>
    holdListing && request.method === "GET" && request.query.get("list-type") === "2" ? "hang" : "answer"
  )
}, 60_000)

afterAll(async () => {
  for (const worker of started) worker.child.kill("SIGKILL")
  await Promise.all(started.map((worker) => worker.exited))
  await stub?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("a worker killed mid-job", () => {
  it("leaves the job to the next worker, which runs it once", async () => {
    const env = {
      DATABASE_URL: databaseUrl,
      S3_BUCKET: "uploads",
      S3_ENDPOINT: stub.endpoint,
      S3_FORCE_PATH_STYLE: "true",
      S3_ACCESS_KEY_ID: "test-access-key",
      S3_SECRET_ACCESS_KEY: "test-secret-key",
      LOG_LEVEL: "Info"
    }
    const userId = randomUUID()
    const prefix = `users/${userId}/`
    const keys = [`${prefix}d1/a1-front.png`, `${prefix}d1/a2-back.png`, `${prefix}d2/a3-logo.svg`]
    for (const key of keys) stub.objects.add(key)
    stub.objects.add("users/someone-else/d9/keep.png")

    // The first worker migrates the database and creates the queue's table; then the job goes in,
    // as the API enqueues it when an account is deleted.
    const first = startWorker(env)
    started.push(first)
    await waitFor("the first worker to consume", 30_000, () =>
      first.output().stdout.includes("worker: consuming jobs") ? true : undefined)
    const jobId = `cleanup-${userId}`
    await Effect.runPromise(
      Effect.flatMap(Effect.service(JobQueue.JobQueue), (queue) =>
        queue.enqueue({ _tag: "account.cleanup", userId: userId as UserId }, { id: jobId })).pipe(
        Effect.provide(JobQueue.layerPostgres.pipe(
          Layer.provide(JobQueue.layerPostgresStore),
          Layer.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })),
          Layer.provide(AppConfig.layerTest({ logLevel: "None" }))
        ))
      )
    )

    // The first worker takes the job and is stuck listing the prefix: kill it there.
    await waitFor("the first worker to start the cleanup", 15_000, () =>
      stub.requests.some((request) => request.query.get("prefix") === prefix) ? true : undefined)
    const taken = await jobRow(jobId)
    expect(taken).toMatchObject({ state: "pending", attempts: 1 })
    expect(taken!.acquiredAt).not.toBeNull()
    first.child.kill("SIGKILL")
    expect(await first.exited).toBe("SIGKILL")
    const killedAt = performance.now()
    expect(stub.requests.filter((request) => request.method === "POST")).toEqual([])
    expect([...stub.objects].filter((key) => key.startsWith(prefix))).toHaveLength(3)

    // A new worker, with S3 answering now. It may take the job only once the lock expired.
    holdListing = false
    const second = startWorker(env)
    started.push(second)
    const completed = await waitFor("the job to complete on the second worker", LOCK_EXPIRATION_MS + 30_000, async () => {
      const row = await jobRow(jobId)
      return row?.state === "completed" ? row : undefined
    })
    const redeliveredAfter = performance.now() - killedAt
    expect(completed.attempts).toBe(2)

    // The effect happened once: one delete of exactly the user's three objects, nothing else touched.
    const deletes = stub.requests.filter((request) => request.method === "POST" && request.query.has("delete"))
    expect(deletes).toHaveLength(1)
    expect([...deletes[0]!.body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) => match[1]).sort()).toEqual([...keys].sort())
    expect([...stub.objects]).toEqual(["users/someone-else/d9/keep.png"])
    const cleanups = logLines(second.output().stdout).filter((line) =>
      String(line["message"]).startsWith("jobs: account cleanup removed")
    )
    expect(cleanups.map((line) => line["message"])).toEqual(["jobs: account cleanup removed 3 stored objects"])

    // Redelivery waited for the dead worker's lock (about 30 s), not longer.
    expect(redeliveredAfter).toBeGreaterThan(LOCK_EXPIRATION_MS - 5_000)
    expect(redeliveredAfter).toBeLessThan(LOCK_EXPIRATION_MS + 20_000)

    second.child.kill("SIGTERM")
    expect(await second.exited).toBe(0)
  }, 90_000)
})
