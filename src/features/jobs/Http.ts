import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as RenderJobs from "./RenderJobs.ts"

export const JobsHandlers = HttpApiBuilder.group(ServerApi, "jobs", (handlers) =>
  Effect.succeed(
    handlers
      .handle("render", ({ params, payload }) =>
        answerAs((actor) => RenderJobs.requestRender(actor, params.id, payload.kind ?? "render")))
      .handle("get", ({ params }) => answerAs((actor) => RenderJobs.getJob(actor, params.jobId)))
      .handle("listForDesign", ({ params, query }) => answerAs((actor) => RenderJobs.listDesignJobs(actor, params.id, query)))
  ))
