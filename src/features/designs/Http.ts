import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { ValidationFailed } from "../../api/Problems.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Designs from "./Designs.ts"

/** `If-Match: "3"`, `W/"3"` or `3`. */
const versionFromIfMatch = (header: string) => {
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim())
  return match === null ? undefined : Number(match[1])
}

const expectedVersion = (body: number | undefined, ifMatch: string | undefined) => {
  const fromHeader = ifMatch === undefined ? undefined : versionFromIfMatch(ifMatch)
  if (ifMatch !== undefined && fromHeader === undefined) {
    return Effect.fail(new ValidationFailed({ errors: [{ path: "if-match", location: "header", message: "Expected a design version like \"3\"" }] }))
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
      .handle("create", ({ payload }) => answerAs((actor) => Designs.createDesign(actor, payload)))
      .handle("list", ({ query }) => answerAs((actor) => Designs.listDesigns(actor, query)))
      .handle("get", ({ params }) => answerAs((actor) => Designs.getDesign(actor, params.id)))
      .handle("update", ({ headers, params, payload }) =>
        Effect.gen(function*() {
          const { version, ...changes } = payload
          const expected = yield* expectedVersion(version, headers["if-match"])
          return yield* answerAs((actor) => Designs.updateDesign(actor, params.id, expected, changes))
        }))
      .handle("delete", ({ params }) =>
        answerAs((actor) => Designs.deleteDesign(actor, params.id)))
      .handle("duplicate", ({ params }) => answerAs((actor) => Designs.duplicateDesign(actor, params.id)))
  ))
