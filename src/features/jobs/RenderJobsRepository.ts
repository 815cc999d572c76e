import { Clock, Context, Effect, Layer, Option, Ref, Schema, Struct } from "effect"
import { SqlClient } from "effect/sql"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { RenderJob, RenderJobId, RenderJobProgress } from "../../domain/Jobs.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

/** A job as it is requested: queued, with no result or error yet. */
const NewRenderJob = RenderJob.mapFields(Struct.pick(["id", "ownerId", "designId", "kind"]))
type NewRenderJob = typeof NewRenderJob.Type

export class RenderJobsRepository extends Context.Service<RenderJobsRepository, {
  readonly create: (job: NewRenderJob) => Effect.Effect<RenderJob, DatabaseUnavailable>
  readonly findById: (id: RenderJobId) => Effect.Effect<Option.Option<RenderJob>, DatabaseUnavailable>
  readonly update: (id: RenderJobId, update: RenderJobProgress) => Effect.Effect<Option.Option<RenderJob>, DatabaseUnavailable>
}>()("customify/features/jobs/RenderJobsRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

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
  return RenderJobsRepository.of({
    create: (job) =>
      Effect.flatMap(now, (at) =>
        insert({ ...job, status: "queued", resultUrl: null, error: null, createdAt: at, updatedAt: at })).pipe(
          Effect.catchTag("NoSuchElementError", Effect.die),
          orUnavailable
        ),
    findById: (id) => findById(id).pipe(orUnavailable),
    update: (id, progress) =>
      Effect.flatMap(now, (updatedAt) => update({ id, progress, updatedAt })).pipe(orUnavailable)
  })
}))

export const layerMemory = Layer.effect(RenderJobsRepository, Effect.gen(function*() {
  const jobs = yield* Ref.make(new Map<RenderJobId, RenderJob>())
  return RenderJobsRepository.of({
    create: (job) =>
      Effect.gen(function*() {
        const at = yield* now
        const created: RenderJob = { ...job, status: "queued", resultUrl: null, error: null, createdAt: at, updatedAt: at }
        ;(yield* Ref.get(jobs)).set(job.id, created)
        return created
      }),
    findById: (id) => Effect.map(Ref.get(jobs), (all) => Option.fromNullishOr(all.get(id))),
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
