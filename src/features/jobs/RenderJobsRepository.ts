import { Clock, Context, Duration, Effect, Layer, Option, Ref, Schema, Struct } from "effect"
import { SqlClient } from "effect/sql"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { joinOrBegin } from "../../capabilities/database/Transactions.ts"
import { SessionRevoked } from "../../domain/AuthErrors.ts"
import { RenderRateLimited } from "../../domain/DesignErrors.ts"
import { DesignId } from "../../domain/Design.ts"
import { RenderJob, RenderJobId, RenderJobProgress } from "../../domain/Jobs.ts"
import { comesAfter, newestFirst } from "../../domain/Pagination.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

/** A job as it is requested: queued, with no result or error yet. */
const NewRenderJob = RenderJob.mapFields(Struct.pick(["id", "ownerId", "designId", "kind"]))
type NewRenderJob = typeof NewRenderJob.Type

/** At most `limit` jobs per owner within any `window` (a sliding window, e.g. the last hour). */
export interface RenderBudget {
  readonly limit: number
  readonly window: Duration.Duration
}

/** Keyset position: jobs strictly older than this one. */
const JobCursor = RenderJob.mapFields(Struct.pick(["createdAt", "id"]))

const DesignJobsQuery = Schema.Struct({
  designId: DesignId,
  limit: Schema.Int,
  after: Schema.optional(JobCursor)
})
export type DesignJobsQuery = typeof DesignJobsQuery.Type

export class RenderJobsRepository extends Context.Service<RenderJobsRepository, {
  /**
   * Records a queued job unless its owner created `limit` jobs within the last `window`
   * (`RenderRateLimited`, with the seconds until one of them leaves the window). Atomic: parallel
   * requests (on any instance) never exceed the limit.
   */
  /** SessionRevoked: the owner's account was deleted meanwhile. */
  readonly create: (job: NewRenderJob, budget: RenderBudget) => Effect.Effect<RenderJob, RenderRateLimited | SessionRevoked | DatabaseUnavailable>
  readonly findById: (id: RenderJobId) => Effect.Effect<Option.Option<RenderJob>, DatabaseUnavailable>
  readonly update: (id: RenderJobId, update: RenderJobProgress) => Effect.Effect<Option.Option<RenderJob>, DatabaseUnavailable>
  /** Up to `limit` jobs of the design, newest first, strictly after `after` when given. */
  readonly listForDesign: (query: DesignJobsQuery) => Effect.Effect<ReadonlyArray<RenderJob>, DatabaseUnavailable>
}>()("customify/features/jobs/RenderJobsRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

/**
 * Refused while the owner's `limit`-th newest job is within the window (there are `limit` of
 * them already), until it leaves the window; `leaving` is that job's creation time, if any.
 */
const refusal = (leaving: Date | undefined, budget: RenderBudget, at: Date): RenderRateLimited | undefined => {
  if (leaving === undefined) return undefined
  const millis = leaving.getTime() + Duration.toMillis(budget.window) - at.getTime()
  return new RenderRateLimited({ limit: budget.limit, retryAfterSeconds: Math.max(1, Math.ceil(millis / 1000)) })
}

export const layerSql = Layer.effect(RenderJobsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const columns = sql`id, owner_id, design_id, kind, status, result_url, error, created_at, updated_at`
  const insert = StoredRows.findOne({
    Request: RenderJob,
    Result: RenderJob,
    execute: (job) => sql`INSERT INTO render_jobs ${sql.insert(job)} RETURNING ${columns}`
  })
  const findById = StoredRows.findOneOption({
    Request: RenderJobId,
    Result: RenderJob,
    execute: (id) => sql`SELECT ${columns} FROM render_jobs WHERE id = ${id}`
  })
  const update = StoredRows.findOneOption({
    Request: Schema.Struct({ id: RenderJobId, progress: RenderJobProgress, updatedAt: RenderJob.fields.updatedAt }),
    Result: RenderJob,
    execute: ({ id, progress, updatedAt }) =>
      sql`UPDATE render_jobs SET ${sql.update({ ...progress, updatedAt })} WHERE id = ${id} RETURNING ${columns}`
  })
  const create = (job: NewRenderJob, budget: RenderBudget) =>
    joinOrBegin(sql)(Effect.gen(function*() {
      // Every request of one owner queues on the owner's row (NO KEY UPDATE: the foreign keys
      // pointing at it do not wait), and the count after the lock sees what the requests before
      // it committed: two requests never pass on counts missing each other.
      const owner = yield* sql`SELECT 1 FROM users WHERE id = ${job.ownerId} FOR NO KEY UPDATE`
      // The account was deleted while this request waited (another device): so were its sessions.
      if (owner.length === 0) return yield* new SessionRevoked()
      const at = yield* now
      const since = new Date(at.getTime() - Duration.toMillis(budget.window))
      // Only the limit-th newest job within the window matters (limit - 1 rows skipped).
      const rows = yield* sql<{ readonly createdAt: Date }>`
        SELECT created_at FROM render_jobs
        WHERE owner_id = ${job.ownerId} AND created_at > ${since}
        ORDER BY created_at DESC
        OFFSET ${budget.limit - 1} LIMIT 1`
      const refused = refusal(rows[0] === undefined ? undefined : new Date(rows[0].createdAt), budget, at)
      if (refused !== undefined) return yield* refused
      return yield* insert({ ...job, status: "queued", resultUrl: null, error: null, createdAt: at, updatedAt: at }).pipe(
        Effect.catchTag("NoSuchElementError", Effect.die)
      )
    }))

  const listForDesign = StoredRows.findAll({
    Request: DesignJobsQuery,
    Result: RenderJob,
    execute: ({ after, designId, limit }) =>
      sql`
        SELECT ${columns} FROM render_jobs
        WHERE design_id = ${designId}
          ${after === undefined ? sql`` : sql`AND (created_at, id) < (${after.createdAt}, ${after.id})`}
        ORDER BY created_at DESC, id DESC
        LIMIT ${limit}`
  })

  return RenderJobsRepository.of({
    create: (job, budget) => create(job, budget).pipe(orUnavailable),
    listForDesign: (query) => listForDesign(query).pipe(orUnavailable),
    findById: (id) => findById(id).pipe(orUnavailable),
    update: (id, progress) =>
      Effect.flatMap(now, (updatedAt) => update({ id, progress, updatedAt })).pipe(orUnavailable)
  })
}))

export const layerMemory = Layer.effect(RenderJobsRepository, Effect.gen(function*() {
  const jobs = yield* Ref.make(new Map<RenderJobId, RenderJob>())
  return RenderJobsRepository.of({
    create: (job, budget) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(jobs)
        const since = at.getTime() - Duration.toMillis(budget.window)
        const newestFirst = [...all.values()]
          .filter((other) => other.ownerId === job.ownerId && other.createdAt.getTime() > since)
          .map((other) => other.createdAt)
          .sort((a, b) => b.getTime() - a.getTime())
        const refused = refusal(newestFirst[budget.limit - 1], budget, at)
        if (refused !== undefined) return yield* refused
        const created: RenderJob = { ...job, status: "queued", resultUrl: null, error: null, createdAt: at, updatedAt: at }
        all.set(job.id, created)
        return created
      }),
    findById: (id) => Effect.map(Ref.get(jobs), (all) => Option.fromNullishOr(all.get(id))),
    listForDesign: ({ after, designId, limit }) =>
      Effect.map(Ref.get(jobs), (all) =>
        [...all.values()].filter((job) => job.designId === designId).sort(newestFirst).filter(comesAfter(after)).slice(0, limit)),
    update: (id, progress) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(jobs)
        const current = all.get(id)
        if (current === undefined) return Option.none()
        const next: RenderJob = { ...current, ...progress, updatedAt: at }
        all.set(id, next)
        return Option.some(next)
      })
  })
}))
