import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { DesignId } from "../domain/Design.ts"
import { RenderJobId, RenderJobStatus } from "../domain/Jobs.ts"
import { NotFound, ServiceUnavailable } from "./Problems.ts"
import { Authentication } from "./Security.ts"

export const JobView = Schema.Struct({
  jobId: RenderJobId,
  designId: DesignId,
  kind: Schema.Literals(["render", "pdf"]),
  status: RenderJobStatus,
  resultUrl: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotate({ identifier: "Job" })

export const JobProgress = Schema.Struct({
  status: RenderJobStatus,
  resultUrl: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(2048), Schema.isPattern(/^https:\/\//)))),
  error: Schema.optionalKey(Schema.NullOr(Schema.String.check(Schema.isMaxLength(2000))))
}).annotate({ identifier: "JobProgress" })

export class JobsApi extends HttpApiGroup.make("jobs")
  .add(
    HttpApiEndpoint.post("render", "/designs/:id/render", {
      params: { id: DesignId },
      payload: Schema.Struct({ kind: Schema.optionalKey(Schema.Literals(["render", "pdf"])) }),
      success: Schema.Struct({ jobId: RenderJobId, status: RenderJobStatus }).pipe(HttpApiSchema.status(202)),
      error: [NotFound, ServiceUnavailable]
    }),
    HttpApiEndpoint.get("get", "/jobs/:jobId", { params: { jobId: RenderJobId }, success: JobView, error: NotFound })
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotateMerge(OpenApi.annotations({ title: "Jobs", description: "Render and PDF requests and their progress" }))
{}
