import { Clock, Effect, type Layer, Option } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { problemType } from "../../api/Problems.ts"
import {
  type LocalUploadRefusal,
  type LocalUploadRefused,
  LocalUploads,
  type LocalUploadsService,
  type StorageUnavailable
} from "../../capabilities/storage/Storage.ts"
import { problemResponse } from "../../http/ProblemResponse.ts"
import { RequestLog } from "../../http/RequestLog.ts"

/** For SVG: rendered only as an image, never as a page that runs scripts or loads anything. */
export const SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

const problem = (status: number, code: string, title: string, detail: string) =>
  problemResponse({ type: problemType(code), title, status, detail, code })

const refusalProblem = (reason: LocalUploadRefusal) => {
  switch (reason._tag) {
    case "Expired":
      return problem(410, "upload_url_expired", "This URL has expired", "Ask the API for a new URL")
    case "InvalidToken":
      return problem(403, "invalid_upload_url", "Invalid URL", "This URL was not issued by this server, was altered, or is not for this method")
    case "ContentTypeMismatch":
      return problem(415, "content_type_mismatch", "Wrong content type", `Send Content-Type: ${reason.expected}`)
    case "TooLarge":
      return problem(413, "payload_too_large", "Payload too large", `Uploads are limited to ${reason.maxBytes} bytes`)
    case "SizeMismatch": {
      const sent = reason.received === undefined ? "" : `; ${reason.received} were sent`
      return problem(400, "size_mismatch", "Wrong size", `This URL accepts exactly ${reason.expected} bytes${sent}`)
    }
    case "UnreadableBody":
      return problem(400, "malformed_body", "Bad request", "The request body could not be read")
    case "NotFound":
      return problem(404, "not_found", "Not found", "Nothing was uploaded here")
  }
}

/** Records the route template (never the token: it is a credential) for the access log and metrics. */
const recordRoute = Effect.flatMap(Effect.serviceOption(RequestLog), (log) =>
  Effect.sync(() => {
    if (Option.isSome(log)) log.value.route = "/uploads/:token"
  }))

const answer = (effect: Effect.Effect<HttpServerResponse.HttpServerResponse, LocalUploadRefused | StorageUnavailable>) =>
  Effect.andThen(recordRoute, effect).pipe(
    Effect.catchTags({
      LocalUploadRefused: (refused) => Effect.succeed(refusalProblem(refused.reason)),
      StorageUnavailable: () =>
        // The request pipeline gives every 503 problem its Retry-After.
        Effect.succeed(problem(503, "service_unavailable", "Service unavailable", "File storage is unavailable; retry shortly"))
    })
  )

const receive = (uploads: LocalUploadsService, token: string, request: HttpServerRequest.HttpServerRequest) => {
  const declared = request.headers["content-length"]
  return uploads.receive(token, {
    contentType: request.headers["content-type"],
    contentLength: declared === undefined ? undefined : Number(declared),
    body: request.stream
  }).pipe(Effect.map(() => HttpServerResponse.empty({ status: 200 })))
}

const serve = Effect.fnUntraced(function*(uploads: LocalUploadsService, token: string) {
  const object = yield* uploads.open(token)
  const now = yield* Clock.currentTimeMillis
  const isSvg = object.contentType.toLowerCase() === "image/svg+xml"
  return HttpServerResponse.stream(object.stream, {
    contentType: object.contentType,
    contentLength: object.byteSize,
    headers: {
      "x-content-type-options": "nosniff",
      "cache-control": `private, max-age=${Math.max(0, Math.floor((object.expiresAt.getTime() - now) / 1000))}`,
      ...(isSvg ? { "content-security-policy": SVG_CONTENT_SECURITY_POLICY } : {})
    }
  })
})

/**
 * The routes of the local storage backend's upload and download URLs. They are always registered
 * (so the route table is the same whatever the backend); when storage is not local they answer 404.
 */
export const LocalUploadRoutes: Layer.Layer<never, never, HttpRouter.HttpRouter | LocalUploads> = HttpRouter.use(
  Effect.fnUntraced(function*(router) {
    const local = yield* LocalUploads
    // A wildcard, not `:token`: the router refuses parameters over 100 characters, and tokens are longer.
    const tokenOf = Effect.map(HttpRouter.params, (params) => params["*"] ?? "")
    const notServed = Effect.andThen(
      recordRoute,
      Effect.succeed(problem(404, "not_found", "Not found", "Uploads are not served by this API"))
    )
    yield* router.add("PUT", "/uploads/*", (request) =>
      Option.match(local, {
        onNone: () => notServed,
        onSome: (uploads) => Effect.flatMap(tokenOf, (token) => answer(receive(uploads, token, request)))
      }))
    yield* router.add(
      "GET",
      "/uploads/*",
      Option.match(local, {
        onNone: () => notServed,
        onSome: (uploads) => Effect.flatMap(tokenOf, (token) => answer(serve(uploads, token)))
      })
    )
  })
)

/** The upload routes, for the route table (405 detection and the route inventory). */
export const localUploadRoutes = [
  { method: "PUT", path: "/uploads/*" },
  { method: "GET", path: "/uploads/*" }
] as const
