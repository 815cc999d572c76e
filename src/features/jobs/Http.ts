import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import type { JobView } from "../../api/Jobs.ts"
import type { RenderJob } from "../../domain/Jobs.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as RenderJobs from "./RenderJobs.ts"

export const toJobView = (job: RenderJob): typeof JobView.Type => ({
  jobId: job.id,
  designId: job.designId,
  kind: job.kind,
  status: job.status,
  resultUrl: job.resultUrl,
  error: job.error,
  createdAt: job.createdAt,
  updatedAt: job.updatedAt
})

export const JobsHandlers = HttpApiBuilder.group(ServerApi, "jobs", (handlers) =>
  Effect.succeed(
    handlers
      .handle("render", ({ params, payload }) =>
        answerAs((actor) => RenderJobs.requestRender(actor, params.id, payload.kind ?? "render")).pipe(
            Effect.map((job) => ({ jobId: job.id, status: job.status }))
          ))
      .handle("get", ({ params }) =>
        answerAs((actor) => RenderJobs.getJob(actor, params.jobId)).pipe(Effect.map(toJobView)))
  ))
