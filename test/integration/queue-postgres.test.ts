import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Redacted, Ref, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Transactions from "../../src/capabilities/database/Transactions.ts"
import { JobQueue, layerPostgres, layerPostgresStore } from "../../src/capabilities/queue/JobQueue.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import type { CoreJob } from "../../src/domain/Jobs.ts"
import type { UserId } from "../../src/domain/User.ts"
import * as Jobs from "../../src/features/jobs/Feature.ts"
import * as Housekeeping from "../../src/features/jobs/Housekeeping.ts"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"

const scope = Effect.runSync(Scope.make())
let databaseUrl: string
beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs a real PostgreSQL")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
})
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

/** A fresh queue process: its own connection pool and store, as after a restart. */
const queueProcess = () =>
  Layer.merge(layerPostgres.pipe(Layer.provide(layerPostgresStore)), Transactions.layerSql).pipe(
    Layer.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 2 })),
    Layer.provide(AppConfig.layerTest({ jobMaxAttempts: 3 })),
    Layer.fresh
  )

describe("the PostgreSQL job queue", () => {
  it("keeps jobs across a restart and delivers each once", async () => {
    const userId = randomUUID() as UserId
    await Effect.runPromise(Effect.gen(function*() {
      const queue = yield* JobQueue
      yield* queue.enqueue({ _tag: "account.cleanup", userId })
      yield* queue.enqueue({ _tag: "account.cleanup", userId }, { id: "same-id" })
      yield* queue.enqueue({ _tag: "account.cleanup", userId }, { id: "same-id" })
      // The metrics' depth: two distinct jobs waiting.
      expect(yield* queue.depth).toBe(2)
    }).pipe(Effect.provide(queueProcess())))

    const handled = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const seen = yield* Ref.make<ReadonlyArray<CoreJob>>([])
      const worker = yield* Effect.forkScoped(queue.consume((job) => Ref.update(seen, (all) => [...all, job])))
      for (let i = 0; i < 100 && (yield* Ref.get(seen)).length < 2; i++) yield* Effect.sleep("50 millis")
      yield* Effect.sleep("500 millis")
      yield* Fiber.interrupt(worker)
      return yield* Ref.get(seen)
    })).pipe(Effect.provide(queueProcess())))
    // Two distinct jobs: the duplicate id was ignored.
    expect(handled).toEqual([{ _tag: "account.cleanup", userId }, { _tag: "account.cleanup", userId }])
  })

  it("retries a failing job with backoff until it succeeds", async () => {
    const attempts = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const tries = yield* Ref.make<ReadonlyArray<number>>([])
      const worker = yield* Effect.forkScoped(queue.consume((_, meta) =>
        Effect.flatMap(Ref.updateAndGet(tries, (all) => [...all, meta.attempts]), (all) =>
          all.length < 2 ? Effect.fail("transient") : Effect.void)
      ))
      yield* queue.enqueue({ _tag: "design.index", designId: randomUUID() as never })
      for (let i = 0; i < 100 && (yield* Ref.get(tries)).length < 2; i++) yield* Effect.sleep("100 millis")
      yield* Fiber.interrupt(worker)
      return yield* Ref.get(tries)
    })).pipe(Effect.provide(queueProcess())))
    expect(attempts).toEqual([0, 1])
  })

  it("commits a job with the unit of work that queued it, or not at all", async () => {
    const depths = await Effect.runPromise(Effect.gen(function*() {
      const queue = yield* JobQueue
      const { atomically } = yield* Transactions.Transactions
      const before = yield* queue.depth
      const job = { _tag: "account.cleanup", userId: randomUUID() as UserId } as const
      // The process "crashes" after queueing, before the unit of work ends: nothing is left.
      const crashed = yield* Effect.exit(atomically(Effect.andThen(queue.enqueue(job), Effect.die("crash"))))
      const afterCrash = yield* queue.depth
      yield* atomically(queue.enqueue(job))
      return { crashed: Exit.isFailure(crashed), before, afterCrash, afterCommit: yield* queue.depth }
    }).pipe(Effect.provide(queueProcess())))
    expect(depths.crashed).toBe(true)
    expect(depths.afterCrash).toBe(depths.before)
    expect(depths.afterCommit).toBe(depths.before + 1)
  })

  it("prunes completed and dead-lettered jobs older than JOB_RETENTION, keeping recent, waiting and running ones", async () => {
    const tag = randomUUID().slice(0, 8)
    const id = (name: string) => `${name}-${tag}`
    const job = { _tag: "account.cleanup", userId: randomUUID() as UserId } as const
    const finished = ["done-old", "done-recent", "dead-old", "dead-recent"]
    // One delivery per job: a failure dead-letters it at once.
    const process = Layer.merge(layerPostgres.pipe(Layer.provideMerge(layerPostgresStore)), Transactions.layerSql).pipe(
      Layer.provideMerge(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 2 })),
      Layer.provideMerge(AppConfig.layerTest({ jobMaxAttempts: 1, jobRetention: Duration.days(7) })),
      Layer.fresh
    )
    const left = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const sql = yield* SqlClient.SqlClient
      const states = () =>
        sql<{ id: string; state: string }>`SELECT id, state FROM job_queue WHERE id LIKE ${`%-${tag}`} ORDER BY id`.pipe(
          Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.id.slice(0, -tag.length - 1), row.state])))
        )
      for (const name of finished) yield* queue.enqueue(job, { id: id(name) })
      const worker = yield* Effect.forkScoped(queue.consume((_, meta) => meta.id.startsWith("dead") ? Effect.fail("boom") : Effect.void))
      for (let i = 0; i < 100 && Object.values(yield* states()).filter((state) => state !== "pending").length < 4; i++) {
        yield* Effect.sleep("100 millis")
      }
      yield* Fiber.interrupt(worker)
      expect(yield* states()).toEqual({ "dead-old": "failed", "dead-recent": "failed", "done-old": "completed", "done-recent": "completed" })

      // A job running while the prune runs (its handler holds it), and one waiting behind it.
      const running = yield* Deferred.make<void>()
      yield* queue.enqueue(job, { id: id("running-old") })
      yield* Effect.forkScoped(queue.consume(() => Effect.andThen(Deferred.succeed(running, undefined), Effect.never)))
      yield* Deferred.await(running)
      yield* queue.enqueue(job, { id: id("waiting-old") })

      // Finished 8 days ago (or, for the others, created and last changed then), and 6 days ago.
      const old = ["done-old", "dead-old", "running-old", "waiting-old"].map(id)
      yield* sql`UPDATE job_queue SET updated_at = updated_at - interval '8 days', created_at = created_at - interval '8 days' WHERE id IN ${sql.in(old)}`
      yield* sql`UPDATE job_queue SET updated_at = updated_at - interval '6 days' WHERE id IN ${sql.in(["done-recent", "dead-recent"].map(id))}`

      // The worker's housekeeping round, with its JOB_RETENTION of 7 days.
      yield* Housekeeping.runOnce(Jobs.housekeeping)
      return yield* states()
    })).pipe(Effect.provide(process)))
    expect(left).toEqual({
      "dead-recent": "failed",
      "done-recent": "completed",
      "running-old": "pending",
      "waiting-old": "pending"
    })
  })
})
