import { Duration, Effect, Layer, Schedule } from "effect"
import { AppConfig } from "../../config/AppConfig.ts"
import { JobQueue } from "../../capabilities/queue/JobQueue.ts"

/**
 * Housekeeping: deleting rows that have served their purpose, run by the worker once when it
 * starts and every HOUSEKEEPING_INTERVAL after. Each task is a name and an effect; they run one
 * after another (never two deletes competing for the database), and a task that fails is logged
 * and tried again on the next round without holding up the others.
 *
 * To add a task (expired sessions, spent password reset tokens, old login counters...): export
 * `housekeeping: ReadonlyArray<HousekeepingTask<R>>` from the feature's `Feature.ts` and add it to
 * the list in `src/app/Features.ts`, which hands them to `Jobs.worker`. `R` is what the task
 * needs (its repository, the capabilities): the worker runs on every feature's services. A
 * feature below jobs exports the plain `{ name, run }` shape and need not import this module.
 *
 * Every worker instance keeps house; deletes are idempotent, so several instances only repeat
 * the work, never conflict.
 */
export interface HousekeepingTask<R = never> {
  /** Names the task in logs and spans, e.g. "jobs.prune". */
  readonly name: string
  readonly run: Effect.Effect<void, unknown, R>
}

export const HOUSEKEEPING_INTERVAL = Duration.hours(1)

/** The job queue's own task: finished jobs older than JOB_RETENTION go (JobQueue.prune). */
export const pruneJobs: HousekeepingTask<JobQueue | AppConfig> = {
  name: "jobs.prune",
  run: Effect.gen(function*() {
    const { jobRetention } = yield* AppConfig
    yield* (yield* JobQueue).prune(jobRetention)
  })
}

const runTask = <R>(task: HousekeepingTask<R>) =>
  Effect.timed(task.run).pipe(
    Effect.flatMap(([took]) => Effect.logDebug(`housekeeping: ${task.name} done in ${Math.round(Duration.toMillis(took))} ms`)),
    Effect.withSpan(`housekeeping ${task.name}`),
    Effect.catchCause((cause) => Effect.logWarning(`housekeeping: ${task.name} failed, retried next round`, cause))
  )

/** What a list of tasks needs: the union of each task's requirements. */
export type Requirements<Tasks extends ReadonlyArray<HousekeepingTask<any>>> = Tasks[number] extends
  HousekeepingTask<infer R> ? R : never

/** One round: every task, in order. */
export const runOnce = <const Tasks extends ReadonlyArray<HousekeepingTask<any>>>(
  tasks: Tasks
): Effect.Effect<void, never, Requirements<Tasks>> => Effect.forEach(tasks, runTask, { discard: true })

/** Runs the tasks at once and every HOUSEKEEPING_INTERVAL after, until the layer's scope closes. */
export const layer = <const Tasks extends ReadonlyArray<HousekeepingTask<any>>>(
  tasks: Tasks
): Layer.Layer<never, never, Requirements<Tasks>> =>
  Layer.effectDiscard(Effect.forkScoped(
    runOnce(tasks).pipe(Effect.repeat(Schedule.spaced(HOUSEKEEPING_INTERVAL)), Effect.asVoid)
  ))
