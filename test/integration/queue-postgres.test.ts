import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Fiber, Layer, Redacted, Ref, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Transactions from "../../src/capabilities/database/Transactions.ts"
import { JobQueue, layerPostgres, layerPostgresStore } from "../../src/capabilities/queue/JobQueue.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import type { CoreJob } from "../../src/domain/Jobs.ts"
import type { UserId } from "../../src/domain/User.ts"
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
})
