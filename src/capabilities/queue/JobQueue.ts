import { Context, Data, Effect, Layer, Ref } from "effect"
import type { Job } from "../../domain/Jobs.ts"

export class QueueError extends Data.TaggedError("QueueError")<{ readonly cause: unknown }> {}

/** Hands jobs to the background workers. Delivery is at least once: consumers are idempotent. */
export class JobQueue extends Context.Service<JobQueue, {
  readonly kind: "memory" | "persisted" | "sqs"
  readonly enqueue: (job: Job) => Effect.Effect<void, QueueError>
}>()("customify/capabilities/queue/JobQueue") {}

/** Jobs kept in process memory, readable by tests; nothing consumes them. */
export class EnqueuedJobs extends Context.Service<EnqueuedJobs, Ref.Ref<ReadonlyArray<Job>>>()(
  "customify/capabilities/queue/EnqueuedJobs"
) {}

export const layerMemory: Layer.Layer<JobQueue | EnqueuedJobs> = Layer.effectContext(Effect.gen(function*() {
  const jobs = yield* Ref.make<ReadonlyArray<Job>>([])
  return Context.make(EnqueuedJobs, jobs).pipe(
    Context.add(JobQueue, JobQueue.of({
      kind: "memory",
      enqueue: (job) => Ref.update(jobs, (all) => [...all, job])
    }))
  )
}))
