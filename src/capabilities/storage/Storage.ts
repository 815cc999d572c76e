import { createHmac, hkdfSync, randomUUID, timingSafeEqual } from "node:crypto"
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises"
import { dirname, join, relative, resolve, sep } from "node:path"
import { Clock, Context, Data, Duration, Effect, Layer, Option, Redacted, Ref, Schema, Stream } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { problemType } from "../../api/Problems.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { StorageConfig } from "../../config/StorageConfig.ts"
import { RequestLog } from "../../http/RequestLog.ts"
import { layerS3 } from "./S3Storage.ts"
import {
  checkKey,
  checkPrefix,
  expiresAtAfter,
  isSafeKey,
  logOutage,
  Storage,
  type StoredObject,
  StorageUnavailable,
  type UploadRequest
} from "./StorageService.ts"

export { defaultS3Tuning, layerS3, type S3Tuning } from "./S3Storage.ts"
export {
  type PresignedDownload,
  type PresignedUpload,
  Storage,
  type StoredObject,
  StorageUnavailable,
  type UploadRequest
} from "./StorageService.ts"

// ---- Local files -----------------------------------------------------------------------------

/**
 * What a local upload or download URL grants, signed: one method on one key until `e`
 * (epoch milliseconds); uploads also fix the content type and the exact size.
 */
const TokenPayload = Schema.Struct({
  v: Schema.Literal(1),
  m: Schema.Literals(["PUT", "GET"]),
  k: Schema.String,
  t: Schema.optionalKey(Schema.String),
  s: Schema.optionalKey(Schema.Int),
  e: Schema.Int
})
type TokenPayload = typeof TokenPayload.Type
const TokenPayloadJson = Schema.fromJsonString(TokenPayload)

/** A key for these tokens only, derived from the secret (HKDF): the secret itself signs nothing here. */
const deriveSigningKey = (secret: Redacted.Redacted): Buffer =>
  Buffer.from(hkdfSync("sha256", Redacted.value(secret), "customify-core-api", "local-uploads/v1", 32))

const mac = (key: Buffer, data: string) => createHmac("sha256", key).update(data).digest()

const signToken = (key: Buffer, payload: TokenPayload): string => {
  const body = Buffer.from(Schema.encodeSync(TokenPayloadJson)(payload)).toString("base64url")
  return `${body}.${mac(key, body).toString("base64url")}`
}

type TokenCheck =
  | { readonly _tag: "Valid"; readonly payload: TokenPayload }
  | { readonly _tag: "Invalid" }
  | { readonly _tag: "Expired" }

const verifyToken = (key: Buffer, token: string, method: "PUT" | "GET", now: number): TokenCheck => {
  const [body, signature, ...rest] = token.split(".")
  if (body === undefined || signature === undefined || rest.length > 0) return { _tag: "Invalid" }
  const expected = mac(key, body)
  const given = Buffer.from(signature, "base64url")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { _tag: "Invalid" }
  const decoded = Schema.decodeUnknownOption(TokenPayloadJson)(Buffer.from(body, "base64url").toString("utf8"))
  if (Option.isNone(decoded) || decoded.value.m !== method || !isSafeKey(decoded.value.k)) return { _tag: "Invalid" }
  if (decoded.value.e <= now) return { _tag: "Expired" }
  return { _tag: "Valid", payload: decoded.value }
}

const Meta = Schema.fromJsonString(Schema.Struct({ contentType: Schema.String, byteSize: Schema.Int }))

/** `objects/<key>` holds the bytes, `meta/<key>.json` the content type; the bytes appear last, whole. */
const localPaths = (root: string, key: string) => {
  const object = resolve(root, "objects", key)
  const meta = resolve(root, "meta", `${key}.json`)
  // Keys are checked already; this makes escaping the directory impossible even so.
  if (!object.startsWith(resolve(root, "objects") + sep) || !meta.startsWith(resolve(root, "meta") + sep)) {
    throw new Error(`storage key escapes the uploads directory: ${JSON.stringify(key)}`)
  }
  return { object, meta }
}

const isMissing = (error: unknown) => (error as { readonly code?: string })?.code === "ENOENT"

const readStored = async (root: string, key: string): Promise<StoredObject | undefined> => {
  const paths = localPaths(root, key)
  try {
    const [info, meta] = await Promise.all([stat(paths.object), readFile(paths.meta, "utf8")])
    const parsed = Schema.decodeUnknownOption(Meta)(meta)
    return info.isFile() && Option.isSome(parsed) ? { byteSize: info.size, contentType: parsed.value.contentType } : undefined
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

/** Every file under `directory`, as paths relative to `base` with `/` separators. */
const walk = async (base: string, directory: string): Promise<Array<string>> => {
  let entries
  try {
    entries = await readdir(directory, { withFileTypes: true })
  } catch (error) {
    if (isMissing(error)) return []
    throw error
  }
  const files: Array<string> = []
  for (const entry of entries) {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) files.push(...await walk(base, path))
    else if (entry.isFile()) files.push(relative(base, path).split(sep).join("/"))
  }
  return files
}

/** Removes now-empty directories from `from` up to (not including) `stop`. */
const pruneEmpty = async (from: string, stop: string) => {
  let directory = from
  while (directory.startsWith(stop + sep)) {
    try {
      await rmdir(directory)
    } catch {
      return
    }
    directory = dirname(directory)
  }
}

/** What the upload routes need from the local layer; `None` when storage is not local. */
export interface LocalUploadHandlers {
  readonly put: (token: string, request: HttpServerRequest.HttpServerRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse>
  readonly get: (token: string) => Effect.Effect<HttpServerResponse.HttpServerResponse>
}

export class LocalUploads extends Context.Service<LocalUploads, Option.Option<LocalUploadHandlers>>()(
  "customify/capabilities/storage/LocalUploads"
) {}

const problem = (status: number, code: string, title: string, detail: string) =>
  HttpServerResponse.jsonUnsafe(
    { type: problemType(code), title, status, detail, code },
    { status, contentType: "application/problem+json" }
  )

const tokenProblem = (check: Exclude<TokenCheck, { readonly _tag: "Valid" }>) =>
  check._tag === "Expired"
    ? problem(410, "upload_url_expired", "This URL has expired", "Ask the API for a new URL")
    : problem(403, "invalid_upload_url", "Invalid URL", "This URL was not issued by this server, was altered, or is not for this method")

/** For SVG: rendered only as an image, never as a page that runs scripts or loads anything. */
export const SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

class UploadRefused extends Data.TaggedError("UploadRefused")<{ readonly response: HttpServerResponse.HttpServerResponse }> {}

/** Records the route template (never the token: it is a credential) for the access log and metrics. */
const recordRoute = Effect.flatMap(Effect.serviceOption(RequestLog), (log) =>
  Effect.sync(() => {
    if (Option.isSome(log)) log.value.route = "/uploads/:token"
  }))

/**
 * Files under `DATA_DIR/uploads`, for development and single-instance deployments. Upload and
 * download URLs point at this API (`PUBLIC_BASE_URL/uploads/<token>`), where `LocalUploadRoutes`
 * serves them; a token is an HMAC-signed, expiring grant for one method on one key, signed with
 * a key derived from `secret`.
 */
export const layerLocal = (secret: Redacted.Redacted): Layer.Layer<Storage | LocalUploads, never, StorageConfig> =>
  Layer.effectContext(Effect.gen(function*() {
    const settings = yield* StorageConfig
    const root = resolve(settings.dataDir, "uploads")
    const signingKey = deriveSigningKey(secret)
    const urlFor = (token: string) => `${settings.publicBaseUrl}/uploads/${token}`
    const fs = <A>(operation: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: (cause) => new StorageUnavailable({ operation, cause }) }).pipe(
        Effect.tapError(logOutage)
      )

    const presignUpload = Effect.fn("Storage.presignUpload")(function*(request: UploadRequest) {
      yield* checkKey(request.key)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.key": request.key })
      const expiresAt = yield* expiresAtAfter(request.expiresIn)
      const token = signToken(signingKey, {
        v: 1,
        m: "PUT",
        k: request.key,
        t: request.contentType,
        s: request.byteSize,
        e: expiresAt.getTime()
      })
      return { url: urlFor(token), method: "PUT" as const, headers: { "Content-Type": request.contentType }, expiresAt }
    })

    const head = Effect.fn("Storage.head")(function*(key: string) {
      yield* checkKey(key)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.key": key })
      return Option.fromNullishOr(yield* fs("head", () => readStored(root, key)))
    })

    const presignDownload = Effect.fn("Storage.presignDownload")(function*(key: string, expiresIn: Duration.Duration) {
      yield* checkKey(key)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.key": key })
      const expiresAt = yield* expiresAtAfter(expiresIn)
      return { url: urlFor(signToken(signingKey, { v: 1, m: "GET", k: key, e: expiresAt.getTime() })), expiresAt }
    })

    const deletePrefix = Effect.fn("Storage.deletePrefix")(function*(prefix: string) {
      yield* checkPrefix(prefix)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.prefix": prefix })
      return yield* fs("deletePrefix", async () => {
        const objects = resolve(root, "objects")
        // Walk only the deepest directory the prefix names, then match the rest of it.
        const directory = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : ""
        const keys = (await walk(objects, resolve(objects, directory)))
          .filter((key) => key.startsWith(prefix) && !key.endsWith(".part"))
        for (const key of keys) {
          const paths = localPaths(root, key)
          await rm(paths.object, { force: true })
          await rm(paths.meta, { force: true })
          await pruneEmpty(dirname(paths.object), objects)
          await pruneEmpty(dirname(paths.meta), resolve(root, "meta"))
        }
        return keys.length
      })
    })

    // ---- The routes' side --------------------------------------------------------------------

    const checkToken = (token: string, method: "PUT" | "GET") =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const check = verifyToken(signingKey, token, method, now)
        return check._tag === "Valid"
          ? Effect.succeed(check.payload)
          : Effect.fail(new UploadRefused({ response: tokenProblem(check) }))
      })

    const put = Effect.fn("LocalUploads.put")(function*(token: string, request: HttpServerRequest.HttpServerRequest) {
      const grant = yield* checkToken(token, "PUT")
      const contentType = grant.t ?? ""
      const byteSize = grant.s ?? 0
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.key": grant.k })
      const refuse = (status: number, code: string, title: string, detail: string) =>
        Effect.fail(new UploadRefused({ response: problem(status, code, title, detail) }))
      const sent = request.headers["content-type"] ?? ""
      if (sent.split(";")[0]!.trim().toLowerCase() !== contentType.toLowerCase()) {
        return yield* refuse(415, "content_type_mismatch", "Wrong content type", `Send Content-Type: ${contentType}`)
      }
      if (byteSize > settings.uploadMaxBytes) {
        return yield* refuse(413, "payload_too_large", "Payload too large", `Uploads are limited to ${settings.uploadMaxBytes} bytes`)
      }
      const declared = request.headers["content-length"]
      if (declared !== undefined && Number(declared) !== byteSize) {
        return yield* refuse(400, "size_mismatch", "Wrong size", `This URL accepts exactly ${byteSize} bytes`)
      }
      const paths = localPaths(root, grant.k)
      const partial = `${paths.object}.${randomUUID()}.part`
      yield* fs("put", () => mkdir(dirname(paths.object), { recursive: true }))
      const file = yield* fs("put", () => open(partial, "wx"))
      const received = yield* Ref.make(0)
      const written = yield* Stream.runForEach(request.stream, (chunk) =>
        Effect.flatMap(Ref.updateAndGet(received, (n) => n + chunk.length), (total): Effect.Effect<void, UploadRefused | StorageUnavailable> =>
          total > byteSize
            ? refuse(400, "size_mismatch", "Wrong size", `This URL accepts exactly ${byteSize} bytes`)
            : fs("put", () => file.write(chunk)).pipe(Effect.asVoid))
      ).pipe(
        Effect.catchTag("HttpServerError", () =>
          refuse(400, "malformed_body", "Bad request", "The request body could not be read")),
        Effect.andThen(Ref.get(received)),
        Effect.ensuring(Effect.promise(() => file.close().catch(() => undefined))),
        Effect.tapError(() => Effect.promise(() => rm(partial, { force: true })))
      )
      if (written !== byteSize) {
        yield* Effect.promise(() => rm(partial, { force: true }))
        return yield* refuse(400, "size_mismatch", "Wrong size", `This URL accepts exactly ${byteSize} bytes; ${written} were sent`)
      }
      yield* fs("put", async () => {
        await mkdir(dirname(paths.meta), { recursive: true })
        const metaPartial = `${paths.meta}.${randomUUID()}.part`
        await writeFile(metaPartial, Schema.encodeSync(Meta)({ contentType, byteSize }))
        await rename(metaPartial, paths.meta)
        await rename(partial, paths.object)
      }).pipe(Effect.tapError(() => Effect.promise(() => rm(partial, { force: true }))))
      return HttpServerResponse.empty({ status: 200 })
    })

    const get = Effect.fn("LocalUploads.get")(function*(token: string) {
      const grant = yield* checkToken(token, "GET")
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.key": grant.k })
      const paths = localPaths(root, grant.k)
      const opened = yield* fs("get", async () => {
        const stored = await readStored(root, grant.k)
        if (stored === undefined) return undefined
        const handle = await open(paths.object, "r")
        return { stored, handle }
      })
      if (opened === undefined) {
        return yield* Effect.fail(new UploadRefused({ response: problem(404, "not_found", "Not found", "Nothing was uploaded here") }))
      }
      const { handle, stored } = opened
      const isSvg = stored.contentType.toLowerCase() === "image/svg+xml"
      const now = yield* Clock.currentTimeMillis
      return HttpServerResponse.stream(
        Stream.fromAsyncIterable(handle.createReadStream(), (cause) => new StorageUnavailable({ operation: "get", cause })),
        {
          contentType: stored.contentType,
          contentLength: stored.byteSize,
          headers: {
            "x-content-type-options": "nosniff",
            "cache-control": `private, max-age=${Math.max(0, Math.floor((grant.e - now) / 1000))}`,
            ...(isSvg ? { "content-security-policy": SVG_CONTENT_SECURITY_POLICY } : {})
          }
        }
      )
    })

    const answer = (effect: Effect.Effect<HttpServerResponse.HttpServerResponse, UploadRefused | StorageUnavailable>) =>
      Effect.andThen(recordRoute, effect).pipe(
        Effect.catchTags({
          UploadRefused: (refused) => Effect.succeed(refused.response),
          StorageUnavailable: () =>
            Effect.succeed(
              HttpServerResponse.setHeader(
                problem(503, "service_unavailable", "Service unavailable", "File storage is unavailable; retry shortly"),
                "retry-after",
                "5"
              )
            )
        })
      )

    const handlers: LocalUploadHandlers = {
      put: (token, request) => answer(put(token, request)),
      get: (token) => answer(get(token))
    }

    return Context.make(Storage, Storage.of({
      kind: "local",
      description: `local files (${root}, served at ${settings.publicBaseUrl}/uploads)`,
      presignUpload,
      head,
      presignDownload,
      deletePrefix
    })).pipe(Context.add(LocalUploads, Option.some(handlers)))
  }))

/**
 * The routes of the local layer's URLs. They are always registered (so the route table is the
 * same whatever the backend); when storage is not local they answer 404.
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
        onSome: (handlers) => Effect.flatMap(tokenOf, (token) => handlers.put(token, request))
      }))
    yield* router.add(
      "GET",
      "/uploads/*",
      Option.match(local, { onNone: () => notServed, onSome: (handlers) => Effect.flatMap(tokenOf, handlers.get) })
    )
  })
)

/** The local routes, for the route table (405 detection and the route inventory). */
export const localUploadRoutes = [
  { method: "PUT", path: "/uploads/*" },
  { method: "GET", path: "/uploads/*" }
] as const

// ---- Memory ----------------------------------------------------------------------------------

/** The memory layer's objects, for tests: `put` stands in for a client's upload. */
export class MemoryObjects extends Context.Service<MemoryObjects, {
  readonly put: (key: string, bytes: Uint8Array, contentType: string) => Effect.Effect<void>
  readonly get: (key: string) => Effect.Effect<Option.Option<{ readonly bytes: Uint8Array; readonly contentType: string }>>
  readonly keys: Effect.Effect<ReadonlyArray<string>>
}>()("customify/capabilities/storage/MemoryObjects") {}

/** A Map in process memory; URLs are `memory://` and lead nowhere. */
export const layerMemory: Layer.Layer<Storage | MemoryObjects> = Layer.effectContext(Effect.sync(() => {
  const objects = new Map<string, { readonly bytes: Uint8Array; readonly contentType: string }>()
  const memory = MemoryObjects.of({
    put: (key, bytes, contentType) => Effect.sync(() => void objects.set(key, { bytes: Uint8Array.from(bytes), contentType })),
    get: (key) => Effect.sync(() => Option.fromNullishOr(objects.get(key))),
    keys: Effect.sync(() => [...objects.keys()].sort())
  })
  const storage = Storage.of({
    kind: "memory",
    description: "memory (this process only)",
    presignUpload: Effect.fn("Storage.presignUpload")(function*(request) {
      yield* checkKey(request.key)
      const expiresAt = yield* expiresAtAfter(request.expiresIn)
      return {
        url: `memory://upload/${request.key}?expires=${expiresAt.getTime()}`,
        method: "PUT" as const,
        headers: { "Content-Type": request.contentType },
        expiresAt
      }
    }),
    head: Effect.fn("Storage.head")(function*(key) {
      yield* checkKey(key)
      return Option.map(Option.fromNullishOr(objects.get(key)), (o) => ({ byteSize: o.bytes.length, contentType: o.contentType }))
    }),
    presignDownload: Effect.fn("Storage.presignDownload")(function*(key, expiresIn) {
      yield* checkKey(key)
      const expiresAt = yield* expiresAtAfter(expiresIn)
      return { url: `memory://download/${key}?expires=${expiresAt.getTime()}`, expiresAt }
    }),
    deletePrefix: Effect.fn("Storage.deletePrefix")(function*(prefix) {
      yield* checkPrefix(prefix)
      const keys = [...objects.keys()].filter((key) => key.startsWith(prefix))
      for (const key of keys) objects.delete(key)
      return keys.length
    })
  })
  return Context.make(Storage, storage).pipe(Context.add(MemoryObjects, memory))
}))

/**
 * S3 when `S3_BUCKET` is set, local files otherwise. `secret` signs the local layer's URLs
 * (pass the JWT secret: a key for URLs only is derived from it).
 */
export const layer = (secret: Redacted.Redacted): Layer.Layer<Storage | LocalUploads, never, StorageConfig> =>
  Layer.unwrap(Effect.gen(function*() {
    const settings = yield* StorageConfig
    return Option.isSome(settings.bucket)
      ? Layer.merge(layerS3(), Layer.succeed(LocalUploads, Option.none()))
      : layerLocal(secret)
  }))

/** `layer`, with the local layer's URLs signed by a key derived from `JWT_SECRET`. */
export const layerFromConfig: Layer.Layer<Storage | LocalUploads, never, StorageConfig | AppConfig> = Layer.unwrap(
  Effect.gen(function*() {
    return layer((yield* AppConfig).jwtSecret)
  })
)
