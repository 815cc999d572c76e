import { Context, Data, Duration, Effect, Layer, Option, Queue, Ref, Schedule, Schema } from "effect"
import { PersistedQueue } from "effect/persistence"
import { SqlClient } from "effect/sql"
import { AppConfig } from "../../config/AppConfig.ts"
import { type CoreJob, isCoreJob, Job } from "../../domain/Jobs.ts"
import * as Sqs from "./Sqs.ts"

export class QueueError extends Data.TaggedError("QueueError")<{ readonly cause: unknown }> {}

export interface JobMeta {
  readonly id: string
  /** Deliveries before this one (0 on the first). */
  readonly attempts: number
}

/**
 * Hands jobs to background workers. Delivery is at least once, so consumers are idempotent.
 * This service's own jobs (emails, cleanup, indexing) go to its queue; render and PDF requests
 * go to the queue their services read.
 */
export class JobQueue extends Context.Service<JobQueue, {
  readonly kind: "memory" | "postgres" | "sqs"
  readonly description: string
  readonly enqueue: (job: Job, options?: { readonly id?: string }) => Effect.Effect<void, QueueError>
  /** Jobs of this service waiting or running (approximate on SQS), for the metrics. */
  readonly depth: Effect.Effect<number, QueueError>
  /**
   * Runs `handle` on this service's jobs, one at a time, until interrupted. A failure is retried
   * with backoff; after JOB_MAX_ATTEMPTS deliveries the job is dead-lettered with an error log.
   */
  readonly consume: <E, R>(
    handle: (job: CoreJob, meta: JobMeta) => Effect.Effect<void, E, R>
  ) => Effect.Effect<never, never, R>
  /**
   * Deletes the jobs that finished (completed, or dead-lettered after JOB_MAX_ATTEMPTS) more than
   * `olderThan` ago, of every queue in the store; waiting and running jobs stay whatever their
   * age. Only the PostgreSQL queue keeps finished jobs: on SQS (the queue's retention period) and
   * in memory it does nothing. A job id offered again after its job was pruned is a new job.
   */
  readonly prune: (olderThan: Duration.Duration) => Effect.Effect<void, QueueError>
}>()("customify/capabilities/queue/JobQueue") {}

const retrySchedule = Schedule.min([Schedule.exponential(Duration.seconds(1), 2), Schedule.spaced(Duration.minutes(5))])

const logDeadLetter = (job: Job, meta: JobMeta, error: unknown) =>
  Effect.logError(`jobs: ${job._tag} failed ${meta.attempts + 1} times, dead-lettered`, error).pipe(
    Effect.annotateLogs({ jobId: meta.id, job: job._tag })
  )

/** PostgreSQL (or the embedded PGlite) through Effect's PersistedQueue: jobs survive restarts. */
export const layerPostgres: Layer.Layer<
  JobQueue,
  never,
  AppConfig | PersistedQueue.PersistedQueueFactory | PersistedQueue.PersistedQueueStore | SqlClient.SqlClient
> = Layer.effect(
  JobQueue,
  Effect.gen(function*() {
    const { jobMaxAttempts } = yield* AppConfig
    const sql = yield* SqlClient.SqlClient
    const store = yield* PersistedQueue.PersistedQueueStore
    const options = { schema: Job, maxAttempts: jobMaxAttempts, retrySchedule }
    const core = yield* PersistedQueue.make({ name: "core", ...options })
    const render = yield* PersistedQueue.make({ name: "render", ...options })
    return JobQueue.of({
      kind: "postgres",
      description: "postgres (durable, same database)",
      depth: sql<{ n: string }>`SELECT count(*) AS n FROM job_queue WHERE queue_name = 'core' AND state = 'pending'`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0)),
        Effect.mapError((cause) => new QueueError({ cause }))
      ),
      enqueue: (job, enqueueOptions) =>
        (isCoreJob(job) ? core : render).offer(job, { id: enqueueOptions?.id }).pipe(
          Effect.asVoid,
          Effect.mapError((cause) => new QueueError({ cause }))
        ),
      consume: (handle) =>
        core.take((job, delivery) => {
          if (!isCoreJob(job)) return Effect.void
          // PersistedQueue counts this delivery too.
          const meta = { id: delivery.id, attempts: Math.max(0, delivery.attempts - 1) }
          return handle(job, meta).pipe(
            Effect.tapError((error) => meta.attempts + 1 >= jobMaxAttempts ? logDeadLetter(job, meta, error) : Effect.void)
          )
        }).pipe(
          Effect.catchCause((cause) => Effect.logWarning("jobs: delivery failed, will retry", cause)),
          Effect.forever
        ),
      // The store's own clean-up: rows in state completed or failed (dead-lettered) whose last
      // change is older than the cut-off, deleted in batches; pending rows, running ones
      // included (pending with a lock), are never touched.
      prune: (olderThan) =>
        store.cleanup({ timeToLive: olderThan, failedTimeToLive: olderThan }).pipe(
          Effect.mapError((cause) => new QueueError({ cause }))
        )
    })
  })
)

/** The SQL store of the PostgreSQL queue (creates its own tables), and the queue factory over it. */
export const layerPostgresStore = PersistedQueue.layer.pipe(
  Layer.provideMerge(PersistedQueue.layerStoreSql({
    tableName: "job_queue",
    pollInterval: Duration.millis(500),
    // A worker that dies mid-job frees it after this long; live workers refresh their lock.
    lockExpiration: Duration.seconds(30)
  }))
)

/** Amazon SQS (or an SQS-compatible queue) through @aws-sdk/client-sqs. */
export const layerSqs = (queueUrl: string): Layer.Layer<JobQueue, never, AppConfig> =>
  Layer.effect(JobQueue, Effect.gen(function*() {
    const config = yield* AppConfig
    const client = yield* Sqs.makeClient({ endpoint: config.sqsEndpoint, region: config.sqsRegion })
    const renderQueueUrl = Option.getOrElse(config.sqsRenderQueueUrl, () => queueUrl)
    const encode = Schema.encodeSync(Schema.fromJsonString(Job))
    const decode = Schema.decodeUnknownOption(Schema.fromJsonString(Job))
    return JobQueue.of({
      kind: "sqs",
      description: `sqs ${new URL(queueUrl).pathname}`,
      depth: client.depth(queueUrl).pipe(Effect.mapError((cause) => new QueueError({ cause }))),
      enqueue: (job) =>
        client.send(isCoreJob(job) ? queueUrl : renderQueueUrl, encode(job)).pipe(
          Effect.mapError((cause) => new QueueError({ cause }))
        ),
      consume: (handle) =>
        client.receive(queueUrl).pipe(
          Effect.flatMap((messages) =>
            Effect.forEach(messages, (message) => {
              const meta = { id: message.id, attempts: message.receiveCount - 1 }
              return Option.match(decode(message.body), {
                // A message no version of this service can read: drop it, loudly.
                onNone: () =>
                  Effect.andThen(
                    Effect.logError("jobs: undecodable message dropped", { messageId: message.id }),
                    client.remove(queueUrl, message.receiptHandle)
                  ),
                onSome: (job) =>
                  !isCoreJob(job)
                    ? client.remove(queueUrl, message.receiptHandle)
                    : handle(job, meta).pipe(
                      Effect.matchCauseEffect({
                        onSuccess: () => client.remove(queueUrl, message.receiptHandle),
                        onFailure: (cause) =>
                          meta.attempts + 1 >= config.jobMaxAttempts
                            // SQS's redrive policy moves it to the dead-letter queue on the next receive.
                            ? logDeadLetter(job, meta, cause)
                            : client.retryLater(queueUrl, message.receiptHandle, meta.attempts)
                      })
                    )
              })
            }, { discard: true })
          ),
          Effect.catchCause((cause) =>
            Effect.andThen(Effect.logWarning("jobs: SQS receive failed, retrying", cause), Effect.sleep(Duration.seconds(2)))
          ),
          Effect.forever
        ),
      // SQS deletes finished messages itself, and dead letters after the DLQ's retention period.
      prune: () => Effect.void
    })
  }))

/** Jobs kept in process memory, readable by tests through `EnqueuedJobs`. */
export class EnqueuedJobs extends Context.Service<EnqueuedJobs, Ref.Ref<ReadonlyArray<Job>>>()(
  "customify/capabilities/queue/EnqueuedJobs"
) {}

export const layerMemory: Layer.Layer<JobQueue | EnqueuedJobs> = Layer.effectContext(Effect.gen(function*() {
  const jobs = yield* Ref.make<ReadonlyArray<Job>>([])
  const pending = yield* Queue.unbounded<{ readonly job: CoreJob; readonly meta: JobMeta }>()
  let counter = 0
  return Context.make(EnqueuedJobs, jobs).pipe(
    Context.add(JobQueue, JobQueue.of({
      kind: "memory",
      description: "memory (this process only)",
      depth: Queue.size(pending),
      enqueue: (job, options) =>
        Effect.andThen(
          Ref.update(jobs, (all) => [...all, job]),
          isCoreJob(job) ? Queue.offer(pending, { job, meta: { id: options?.id ?? `memory-${++counter}`, attempts: 0 } }) : Effect.void
        ).pipe(Effect.asVoid),
      consume: (handle) =>
        Queue.take(pending).pipe(
          Effect.flatMap(({ job, meta }) =>
            handle(job, meta).pipe(
              Effect.catchCause((cause) =>
                meta.attempts + 1 >= 3
                  ? logDeadLetter(job, meta, cause)
                  : Queue.offer(pending, { job, meta: { ...meta, attempts: meta.attempts + 1 } })
              )
            )
          ),
          Effect.forever
        ),
      // Finished jobs leave the queue; `EnqueuedJobs` keeps every job for the tests that read it.
      prune: () => Effect.void
    }))
  )
}))

/** SQS when SQS_QUEUE_URL is set, the durable PostgreSQL queue otherwise. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const config = yield* AppConfig
  return Option.match(config.sqsQueueUrl, {
    onSome: (url) => layerSqs(url),
    onNone: () => layerPostgres.pipe(Layer.provide(layerPostgresStore))
  })
}))
