import { randomUUID } from "node:crypto"
import { Duration, Effect, Option } from "effect"
import { Transactions } from "../../capabilities/database/Transactions.ts"
import { JobQueue } from "../../capabilities/queue/JobQueue.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import type { DesignId } from "../../domain/Design.ts"
import { DesignNotFound, JobNotFound } from "../../domain/DesignErrors.ts"
import { RenderJobId, type RenderJobKind, type RenderJobProgress } from "../../domain/Jobs.ts"
import { DEFAULT_PAGE_SIZE, keysetPage, makeKeysetCursor } from "../../domain/Pagination.ts"
import { type Actor, authorize } from "../../domain/Policy.ts"
import { DesignsRepository } from "../designs/DesignsRepository.ts"
import { requireActive } from "../subscriptions/Subscriptions.ts"
import { RenderJobsRepository } from "./RenderJobsRepository.ts"

/** A live design of the actor; anyone else's is `DesignNotFound`, exactly like a missing one. */
const ownedDesign = Effect.fnUntraced(function*(actor: Actor, designId: DesignId) {
  const design = yield* Effect.flatMap(
    (yield* DesignsRepository).findLive(designId),
    Option.match({ onNone: () => Effect.fail(new DesignNotFound()), onSome: Effect.succeed })
  )
  yield* authorize(actor, { kind: "owned", ownerId: design.ownerId }, "read", () => new DesignNotFound())
  return design
})

/** The window RENDER_JOBS_PER_HOUR counts in: any hour, sliding. */
export const RENDER_WINDOW = Duration.hours(1)

/**
 * Records a render (or PDF) request and hands it to the render engine's queue. Only an active
 * subscription may request one (`SubscriptionInactive`, like creating a design), and at most
 * RENDER_JOBS_PER_HOUR within any hour (`RenderRateLimited`), counted with the insert.
 */
export const requestRender = Effect.fn("requestRender")(function*(actor: Actor, designId: DesignId, kind: RenderJobKind) {
  yield* ownedDesign(actor, designId)
  yield* requireActive(actor.userId)
  const { renderJobsPerHour } = yield* AppConfig
  const jobs = yield* RenderJobsRepository
  const queue = yield* JobQueue
  return yield* (yield* Transactions).atomically(
    Effect.tap(
      jobs.create(
        { id: randomUUID() as RenderJobId, ownerId: actor.userId, designId, kind },
        { limit: renderJobsPerHour, window: RENDER_WINDOW }
      ).pipe(
        // The account, and the design with it, was deleted while the request waited.
        Effect.catchTag("SessionRevoked", () => Effect.fail(new DesignNotFound()))
      ),
      (job) =>
        queue.enqueue(
          { _tag: kind === "render" ? "render.requested" : "pdf.requested", jobId: job.id, designId, userId: actor.userId },
          { id: job.id }
        )
    )
  )
})

/** Opaque to clients: the last job of a page, by creation time and id. */
const JobCursor = makeKeysetCursor(RenderJobId)

/** The design's render and PDF jobs, newest first, by keyset; someone else's design is `DesignNotFound`. */
export const listDesignJobs = Effect.fn("listDesignJobs")(function*(actor: Actor, designId: DesignId, query: {
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}) {
  yield* ownedDesign(actor, designId)
  const limit = query.limit ?? DEFAULT_PAGE_SIZE
  const after = query.cursor === undefined ? undefined : yield* JobCursor.decode(query.cursor)
  const rows = yield* (yield* RenderJobsRepository).listForDesign({ designId, limit: limit + 1, after })
  return keysetPage(rows, limit, JobCursor.encode)
})

export const getJob = Effect.fn("getJob")(function*(actor: Actor, id: RenderJobId) {
  const job = yield* Effect.flatMap(
    (yield* RenderJobsRepository).findById(id),
    Option.match({ onNone: () => Effect.fail(new JobNotFound()), onSome: Effect.succeed })
  )
  yield* authorize(actor, { kind: "owned", ownerId: job.ownerId }, "read", () => new JobNotFound())
  return job
})

/** For the render engine and PDF workers: progress and the result's URL. */
export const reportProgress = Effect.fn("reportProgress")(function*(id: RenderJobId, progress: RenderJobProgress) {
  return yield* Effect.flatMap(
    (yield* RenderJobsRepository).update(id, progress),
    Option.match({ onNone: () => Effect.fail(new JobNotFound()), onSome: Effect.succeed })
  )
})
