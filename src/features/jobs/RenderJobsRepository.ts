import { Clock, Context, Effect, Layer, Option, Ref } from "effect"
import { SqlClient } from "effect/sql"
import type { DesignId } from "../../domain/Design.ts"
import type { RenderJob, RenderJobId, RenderJobStatus } from "../../domain/Jobs.ts"
import type { UserId } from "../../domain/User.ts"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

export interface RenderJobUpdate {
  readonly status: RenderJobStatus
  readonly resultUrl?: string | null | undefined
  readonly error?: string | null | undefined
}

export class RenderJobsRepository extends Context.Service<RenderJobsRepository, {
  readonly create: (job: { readonly id: RenderJobId; readonly ownerId: UserId; readonly designId: DesignId; readonly kind: "render" | "pdf" }) => Effect.Effect<RenderJob, DatabaseUnavailable>
  readonly findById: (id: RenderJobId) => Effect.Effect<Option.Option<RenderJob>, DatabaseUnavailable>
  readonly update: (id: RenderJobId, update: RenderJobUpdate) => Effect.Effect<Option.Option<RenderJob>, DatabaseUnavailable>
}>()("customify/features/jobs/RenderJobsRepository") {}

const now = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis))

export const layerSql = Layer.effect(RenderJobsRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const columns = sql`id, owner_id, design_id, kind, status, result_url, error, created_at, updated_at`
  return RenderJobsRepository.of({
    create: (job) =>
      Effect.flatMap(now, (at) =>
        sql<RenderJob>`
          INSERT INTO render_jobs ${sql.insert({ ...job, status: "queued", createdAt: at, updatedAt: at })}
          RETURNING ${columns}`).pipe(Effect.map((rows) => rows[0]!), orUnavailable),
    findById: (id) =>
      sql<RenderJob>`SELECT ${columns} FROM render_jobs WHERE id = ${id}`.pipe(
        Effect.map((rows) => Option.fromNullishOr(rows[0])),
        orUnavailable
      ),
    update: (id, update) =>
      Effect.flatMap(now, (at) =>
        sql<RenderJob>`
          UPDATE render_jobs SET ${sql.update({
            status: update.status,
            ...(update.resultUrl === undefined ? {} : { resultUrl: update.resultUrl }),
            ...(update.error === undefined ? {} : { error: update.error }),
            updatedAt: at
          })}
          WHERE id = ${id} RETURNING ${columns}`).pipe(Effect.map((rows) => Option.fromNullishOr(rows[0])), orUnavailable)
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
    update: (id, update) =>
      Effect.gen(function*() {
        const at = yield* now
        const all = yield* Ref.get(jobs)
        const current = all.get(id)
        if (current === undefined) return Option.none()
        const next: RenderJob = {
          ...current,
          status: update.status,
          resultUrl: update.resultUrl === undefined ? current.resultUrl : update.resultUrl,
          error: update.error === undefined ? current.error : update.error,
          updatedAt: at
        }
        all.set(id, next)
        return Option.some(next)
      })
  })
}))
