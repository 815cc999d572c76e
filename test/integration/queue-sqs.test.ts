import { randomUUID } from "node:crypto"
import { Effect, Fiber, Layer, Option, Ref } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { JobQueue, layerSqs } from "../../src/capabilities/queue/JobQueue.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import type { CoreJob } from "../../src/domain/Jobs.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { UserId } from "../../src/domain/User.ts"
import { startSqsStub } from "../support/sqs-stub.ts"

let stub: Awaited<ReturnType<typeof startSqsStub>>
beforeAll(async () => {
  stub = await startSqsStub()
  process.env["AWS_ACCESS_KEY_ID"] = "test"
  process.env["AWS_SECRET_ACCESS_KEY"] = "test"
})
afterAll(() => stub.stop())

const queueLayer = (name: string, maxAttempts = 5) =>
  layerSqs(stub.queueUrl(name)).pipe(Layer.provide(AppConfig.layerTest({
    sqsEndpoint: Option.some(stub.endpoint),
    sqsRenderQueueUrl: Option.some(stub.queueUrl(`${name}-render`)),
    jobMaxAttempts: maxAttempts
  })))

const userId = randomUUID() as UserId
const waitFor = (condition: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100 && !condition(); i++) yield* Effect.sleep("50 millis")
    if (!condition()) return yield* Effect.die(new Error("condition not met in time"))
  })

describe("the SQS job queue (real SDK against a loopback SQS stub)", () => {
  it("sends, long-polls, runs and deletes; render requests go to the render queue", async () => {
    const handled = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const seen = yield* Ref.make<ReadonlyArray<CoreJob>>([])
      const worker = yield* Effect.forkScoped(queue.consume((job) => Ref.update(seen, (all) => [...all, job])))
      yield* queue.enqueue({ _tag: "account.cleanup", userId })
      yield* queue.enqueue({ _tag: "render.requested", jobId: randomUUID() as never, designId: randomUUID() as DesignId, userId })
      expect(yield* queue.depth).toBeLessThanOrEqual(1)
      yield* waitFor(() => stub.messages("main").length === 0 && stub.calls.includes("DeleteMessage"))
      yield* Fiber.interrupt(worker)
      return yield* Ref.get(seen)
    })).pipe(Effect.provide(queueLayer("main"))))
    expect(handled).toEqual([{ _tag: "account.cleanup", userId }])
    expect(stub.messages("main")).toEqual([])
    expect(stub.messages("main-render").map((m) => JSON.parse(m.body)._tag)).toEqual(["render.requested"])
  })

  it("retries a failing job after a visibility delay, then succeeds: at least once, never lost", async () => {
    const attempts = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const tries = yield* Ref.make<ReadonlyArray<number>>([])
      const worker = yield* Effect.forkScoped(queue.consume((_, meta) =>
        Effect.flatMap(Ref.updateAndGet(tries, (all) => [...all, meta.attempts]), (all) =>
          all.length < 2 ? Effect.fail("transient") : Effect.void)
      ))
      yield* queue.enqueue({ _tag: "design.index", designId: randomUUID() as DesignId })
      yield* waitFor(() => stub.calls.includes("ChangeMessageVisibility"))
      stub.expediteAll()
      yield* waitFor(() => stub.messages("retry").length === 0)
      yield* Fiber.interrupt(worker)
      return yield* Ref.get(tries)
    })).pipe(Effect.provide(queueLayer("retry"))))
    expect(attempts).toEqual([0, 1])
  })

  it("stops retrying at JOB_MAX_ATTEMPTS and leaves the message to the dead-letter redrive", async () => {
    const tries = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const count = yield* Ref.make(0)
      const worker = yield* Effect.forkScoped(queue.consume(() => Effect.andThen(Ref.update(count, (n) => n + 1), Effect.fail("broken"))))
      yield* queue.enqueue({ _tag: "account.cleanup", userId })
      yield* waitFor(() => stub.messages("dead")[0]?.receiveCount === 1 && stub.calls.filter((c) => c === "ChangeMessageVisibility").length >= 1)
      stub.expediteAll()
      yield* waitFor(() => stub.messages("dead")[0]?.receiveCount === 2)
      yield* Effect.sleep("300 millis")
      yield* Fiber.interrupt(worker)
      return yield* Ref.get(count)
    })).pipe(Effect.provide(queueLayer("dead", 2))))
    expect(tries).toBe(2)
    // Still in the queue, invisible: SQS's redrive policy (maxReceiveCount) moves it to the DLQ.
    expect(stub.messages("dead")).toHaveLength(1)
  })

  it("drops a message no version of the service can read, without crashing the worker", async () => {
    const handled = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const queue = yield* JobQueue
      const seen = yield* Ref.make(0)
      const worker = yield* Effect.forkScoped(queue.consume(() => Ref.update(seen, (n) => n + 1)))
      yield* Effect.promise(() => fetch(stub.endpoint, {
        method: "POST",
        headers: { "x-amz-target": "AmazonSQS.SendMessage", "content-type": "application/x-amz-json-1.0" },
        body: JSON.stringify({ QueueUrl: stub.queueUrl("poison"), MessageBody: "{not json" })
      }))
      yield* queue.enqueue({ _tag: "account.cleanup", userId })
      yield* waitFor(() => stub.messages("poison").length === 0)
      yield* Fiber.interrupt(worker)
      return yield* Ref.get(seen)
    })).pipe(Effect.provide(queueLayer("poison"))))
    expect(handled).toBe(1)
  })
})
