import { rm } from "node:fs/promises"
import { resolve } from "node:path"
import { Clock, Context, Duration, Effect, Layer, Option, Redacted, Ref, Stream } from "effect"
import { StorageConfig } from "../../config/StorageConfig.ts"
import { type IncomingUpload, LocalUploadRefused, type LocalUploadRefusal, LocalUploads } from "./LocalUploads.ts"
import { checkKey, checkPrefix, expiresAtAfter, logOutage, Storage, StorageUnavailable, type UploadRequest } from "./StorageService.ts"
import { createPartial, deleteStored, openStored, readStored, store } from "./UploadsDirectory.ts"
import { deriveSigningKey, signToken, verifyToken } from "./UploadTokens.ts"

const refuse = (reason: LocalUploadRefusal) => Effect.fail(new LocalUploadRefused({ reason }))

/** The media type of a `Content-Type` header: no parameters, lower case. */
const mediaTypeOf = (header: string | undefined) => (header ?? "").split(";")[0]!.trim().toLowerCase()

/**
 * Files under `<dataDir>/uploads` (`DATA_DIR`), for development and single-instance deployments.
 * Upload and download URLs point at this API (`PUBLIC_BASE_URL/uploads/<token>`), whose routes
 * hand them to `LocalUploads`; a token is an HMAC-signed, expiring grant for one method on one
 * key, signed with a key derived from `secret`.
 */
export const layerLocal = (options: {
  readonly secret: Redacted.Redacted
  readonly dataDir: string
}): Layer.Layer<Storage | LocalUploads, never, StorageConfig> =>
  Layer.effectContext(Effect.gen(function*() {
    const settings = yield* StorageConfig
    const root = resolve(options.dataDir, "uploads")
    const signingKey = deriveSigningKey(options.secret)
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
      return yield* fs("deletePrefix", () => deleteStored(root, prefix))
    })

    // ---- The URLs' side ----------------------------------------------------------------------

    const checkToken = (token: string, method: "PUT" | "GET") =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const check = verifyToken(signingKey, token, method, now)
        return check._tag === "Valid" ? Effect.succeed(check.payload) : refuse({ _tag: check._tag })
      })

    const receive = Effect.fn("LocalUploads.receive")(function*(token: string, upload: IncomingUpload) {
      const grant = yield* checkToken(token, "PUT")
      const contentType = grant.t ?? ""
      const byteSize = grant.s ?? 0
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.key": grant.k })
      const sizeMismatch = refuse({ _tag: "SizeMismatch", expected: byteSize })
      if (mediaTypeOf(upload.contentType) !== contentType.toLowerCase()) {
        return yield* refuse({ _tag: "ContentTypeMismatch", expected: contentType })
      }
      if (byteSize > settings.uploadMaxBytes) return yield* refuse({ _tag: "TooLarge", maxBytes: settings.uploadMaxBytes })
      if (upload.contentLength !== undefined && upload.contentLength !== byteSize) return yield* sizeMismatch
      const { file, path: partial } = yield* fs("put", () => createPartial(root, grant.k))
      const discardPartial = Effect.promise(() => rm(partial, { force: true }))
      const received = yield* Ref.make(0)
      const written = yield* Stream.runForEach(
        Stream.mapError(upload.body, () => new LocalUploadRefused({ reason: { _tag: "UnreadableBody" } })),
        (chunk) =>
          Effect.flatMap(
            Ref.updateAndGet(received, (n) => n + chunk.length),
            (total): Effect.Effect<void, LocalUploadRefused | StorageUnavailable> =>
              total > byteSize ? sizeMismatch : fs("put", () => file.write(chunk)).pipe(Effect.asVoid)
          )
      ).pipe(
        Effect.andThen(Ref.get(received)),
        Effect.ensuring(Effect.promise(() => file.close().catch(() => undefined))),
        Effect.tapError(() => discardPartial)
      )
      if (written !== byteSize) {
        yield* discardPartial
        return yield* refuse({ _tag: "SizeMismatch", expected: byteSize, received: written })
      }
      yield* fs("put", () => store(root, grant.k, partial, { contentType, byteSize })).pipe(Effect.tapError(() => discardPartial))
    })

    const open = Effect.fn("LocalUploads.open")(function*(token: string) {
      const grant = yield* checkToken(token, "GET")
      yield* Effect.annotateCurrentSpan({ "storage.kind": "local", "storage.key": grant.k })
      const opened = yield* fs("get", () => openStored(root, grant.k))
      if (opened === undefined) return yield* refuse({ _tag: "NotFound" })
      return {
        stream: Stream.fromAsyncIterable(
          opened.handle.createReadStream(),
          (cause) => new StorageUnavailable({ operation: "get", cause })
        ),
        contentType: opened.stored.contentType,
        byteSize: opened.stored.byteSize,
        expiresAt: new Date(grant.e)
      }
    })

    return Context.make(Storage, Storage.of({
      kind: "local",
      description: `local files (${root}, served at ${settings.publicBaseUrl}/uploads)`,
      presignUpload,
      head,
      presignDownload,
      deletePrefix
    })).pipe(Context.add(LocalUploads, Option.some({ receive, open })))
  }))
