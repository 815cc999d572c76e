import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { DesignId } from "../domain/Design.ts"
import { RenderJobId, RenderJobStatus } from "../domain/Jobs.ts"
import { Timestamp } from "../domain/Primitives.ts"
import { NotFound, ServiceUnavailable } from "./Problems.ts"
import { Authentication } from "./Security.ts"

/** Where the rendered file is: an https URL the render engine reported. */
const ResultUrl = Schema.String.check(Schema.isMaxLength(2048), Schema.isPattern(/^https:\/\//u))
/** Why the job failed, as the render engine reported it. */
const JobError = Schema.String.check(Schema.isMaxLength(2000))

/** Results and errors are only ever written through `JobProgress`: the same bounds hold. */
export const JobView = Schema.Struct({
  jobId: RenderJobId,
  designId: DesignId,
  kind: Schema.Literals(["render", "pdf"]),
  status: RenderJobStatus,
  resultUrl: Schema.NullOr(ResultUrl),
  error: Schema.NullOr(JobError),
  createdAt: Timestamp,
  updatedAt: Timestamp
}).annotate({ identifier: "Job" })

export const JobProgress = Schema.Struct({
  status: RenderJobStatus,
  resultUrl: Schema.optionalKey(Schema.NullOr(ResultUrl)),
  error: Schema.optionalKey(Schema.NullOr(JobError))
}).annotate({ identifier: "JobProgress" })

export class JobsApi extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("render", "/designs/:id/render", {
      params: { id: DesignId },
      payload: Schema.Struct({ kind: Schema.optionalKey(Schema.Literals(["render", "pdf"])) }),
      success: Schema.Struct({ jobId: RenderJobId, status: RenderJobStatus }).pipe(HttpApiSchema.status(202)),
      error: [NotFound, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Request a render or a PDF of a design",
      description: "Queues a job for the render engine or the PDF workers (202); follow it with GET /api/v1/jobs/{jobId}."
    })),
    HttpApiEndpoint.get("get", "/jobs/:jobId", { params: { jobId: RenderJobId }, success: JobView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "Get a render or PDF job",
      description: "Its status and, once completed, the result URL."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({ title: "Jobs", description: "Render and PDF requests and their progress" }))
{}
