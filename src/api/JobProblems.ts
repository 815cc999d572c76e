import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"
import { Int32 } from "../domain/Primitives.ts"
import { problemMembers, problemType } from "./Problems.ts"

/** Problems of the jobs endpoints, in the shape of the shared ones in `Problems.ts`. */

/** The caller requested RENDER_JOBS_PER_HOUR render and PDF jobs within the last hour. */
export class RenderRateLimited extends HttpApiError.Problem<RenderRateLimited>()("RenderRateLimited", {
  type: problemType("render_rate_limited"),
  status: 429,
  title: "Too many render requests; try again later"
}, {
  code: Schema.tag("render_rate_limited"),
  ...problemMembers,
  limit: Int32.annotate({ description: "Render and PDF jobs allowed per user in any hour" }),
  retryAfter: Int32.annotate({ description: "Seconds until the oldest of them is an hour old, also sent as Retry-After" })
}) {}
