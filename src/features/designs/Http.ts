import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import type { Design } from "../../domain/Design.ts"
import { entityTagOf, noneMatchNames, versionFromIfMatch } from "../../http/EntityTags.ts"
import { answerOf, type DesignAnswer } from "./DesignAnswers.ts"
import { ServerApi } from "../../http/ServerApi.ts"
import { ValidationFailed } from "../../api/Problems.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Designs from "./Designs.ts"

/** The answer of a GET as stored (ADR 0020): its bytes as they are, or 304 when If-None-Match names its tag. */
const respond = (answer: DesignAnswer, ifNoneMatch: string | undefined) => {
  const etag = entityTagOf(answer.version)
  return noneMatchNames(ifNoneMatch, etag)
    ? HttpServerResponse.empty({ status: 304, headers: { etag } })
    : HttpServerResponse.text(answer.body, { contentType: "application/json", headers: { etag } })
}

/**
 * A design answered by a write, as GET answers it: the same bytes, with its version's tag set on
 * the response itself (so an Idempotency-Key replay stores it, even when the client was gone).
 */
const tagged = <E, R>(status: 200 | 201, write: Effect.Effect<Design, E, R>) =>
  Effect.map(write, (design) =>
    HttpServerResponse.text(answerOf(design).body, {
      status,
      contentType: "application/json",
      headers: { etag: entityTagOf(design.version) }
    }))

const expectedVersion = (body: number | undefined, header: string | undefined) => {
  // `*` asks only that the design exist (RFC 9110 §13.1.1), which the update checks anyway.
  const ifMatch = header?.trim() === "*" ? undefined : header
  const fromHeader = ifMatch === undefined ? undefined : versionFromIfMatch(ifMatch)
  if (ifMatch !== undefined && fromHeader === undefined) {
    return Effect.fail(new ValidationFailed({ errors: [{ path: "if-match", location: "header", message: "Expected a design version as answered in ETag, like \"v3\"" }] }))
  }
  if (body !== undefined && fromHeader !== undefined && body !== fromHeader) {
    return Effect.fail(new ValidationFailed({ errors: [{ path: "version", location: "body", message: "Disagrees with If-Match" }] }))
  }
  const version = body ?? fromHeader
  return version === undefined
    ? Effect.fail(new ValidationFailed({ errors: [{ path: "version", location: "body", message: "Send the version you edited (body field version or If-Match)" }] }))
    : Effect.succeed(version)
}

export const DesignsHandlers = HttpApiBuilder.group(ServerApi, "designs", (handlers) =>
  Effect.succeed(
    handlers
      .handle("create", ({ payload }) => tagged(201, answerAs((actor) => Designs.createDesign(actor, payload))))
      .handle("list", ({ query }) => answerAs((actor) => Designs.listDesigns(actor, query)))
      .handle("get", ({ params, request }) =>
        Effect.map(answerAs((actor) => Designs.getDesignAnswer(actor, params.id)), (answer) => respond(answer, request.headers["if-none-match"])))
      .handle("update", ({ headers, params, payload }) =>
        Effect.gen(function*() {
          const { version, ...changes } = payload
          const expected = yield* expectedVersion(version, headers["if-match"])
          return yield* tagged(200, answerAs((actor) => Designs.updateDesign(actor, params.id, expected, changes)))
        }))
      .handle("delete", ({ params }) =>
        answerAs((actor) => Designs.deleteDesign(actor, params.id)))
      .handle("duplicate", ({ params }) => tagged(201, answerAs((actor) => Designs.duplicateDesign(actor, params.id))))
  ))
