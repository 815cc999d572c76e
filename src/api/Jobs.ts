import { Schema, Struct } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { DesignId } from "../domain/Design.ts"
import { RenderJob, RenderJobId, RenderJobKind, RenderJobProgress } from "../domain/Jobs.ts"
import { RenderRateLimited } from "./JobProblems.ts"
import { Idempotent } from "./Idempotency.ts"
import { pageOf, pageQuery } from "./Pagination.ts"
import { InvalidCursor, NotFound, ServiceUnavailable, SubscriptionInactive, ValidationFailed } from "./Problems.ts"
import { Authentication } from "./Security.ts"

/**
 * The job without its owner; the entity's `id` is `jobId` on the wire. Both sides carry the name:
 * the wire side names the document's component, the other the response's description.
 */
export const JobView = RenderJob.mapFields(Struct.omit(["ownerId"])).pipe(
  Schema.encodeKeys({ id: "jobId" }),
  Schema.annotateEncoded({ identifier: "Job" })
).annotate({ identifier: "Job" })

/** The answer to a render request: the job's id and its first status. */
const QueuedJob = RenderJob.mapFields(Struct.pick(["id", "status"])).pipe(Schema.encodeKeys({ id: "jobId" }))

export const JobPage = pageOf(JobView, "JobPage")

export const JobProgress = RenderJobProgress.annotate({ identifier: "JobProgress" })

export class JobsApi extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("render", "/designs/:id/render", {
      params: { id: DesignId },
      payload: Schema.Struct({ kind: Schema.optionalKey(RenderJobKind) }),
      success: QueuedJob.pipe(HttpApiSchema.status(202)),
      error: [NotFound, SubscriptionInactive, RenderRateLimited, ServiceUnavailable]
    }).middleware(Idempotent).annotateMerge(OpenApi.annotations({
      summary: "Request a render or a PDF of a design",
      description: "Queues a job for the render engine or the PDF workers (202); follow it with GET /api/v1/jobs/{jobId}. " +
        "Needs an active subscription (402 `subscription_inactive`). At most RENDER_JOBS_PER_HOUR renders and PDFs per user within any hour " +
        "(429 `render_rate_limited` with `limit` and Retry-After beyond it)."
    })),
    HttpApiEndpoint.get("get", "/jobs/:jobId", { params: { jobId: RenderJobId }, success: JobView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "Get a render or PDF job",
      description: "Its status and, once completed, the result URL."
    })),
    HttpApiEndpoint.get("listForDesign", "/designs/:id/jobs", {
      params: { id: DesignId },
      query: pageQuery,
      success: JobPage,
      error: [NotFound, ValidationFailed, InvalidCursor, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "List a design's render and PDF jobs",
      description: "Newest first; keyset pagination with `cursor`, stable while jobs are added (a cursor no page answered is 400 `invalid_cursor`). Someone else's design answers 404."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({ title: "Jobs", description: "Render and PDF requests and their progress" }))
{}
