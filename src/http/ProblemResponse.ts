import { HttpServerResponse } from "effect/http"
import { PROBLEM_JSON } from "../api/Problems.ts"

export interface ProblemBody {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly code: string
  readonly detail?: string | undefined
  readonly requestId?: string | undefined
  readonly [member: string]: unknown
}

/**
 * The one builder of problem+json responses that the kit and the routes beside the HttpApi
 * render themselves (endpoints render theirs from the problem classes they declare). The
 * request pipeline adds the `requestId` to every problem on its way out.
 */
export const problemResponse = (body: ProblemBody, headers: Record<string, string> = {}): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(body, { status: body.status, contentType: PROBLEM_JSON, headers })
