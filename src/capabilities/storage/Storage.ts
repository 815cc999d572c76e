import { Context, Effect, Layer, Option, type Redacted } from "effect"
import { AppConfig } from "../../config/AppConfig.ts"
import { StorageConfig } from "../../config/StorageConfig.ts"
import { layerLocal } from "./LocalStorage.ts"
import { LocalUploads } from "./LocalUploads.ts"
import { layerS3 } from "./S3Storage.ts"
import { checkKey, checkPrefix, expiresAtAfter, Storage } from "./StorageService.ts"

// The service is declared in StorageService.ts, not here, so that the backends can import it
// while this module, which chooses among them, imports them: no import cycle.
export { layerLocal } from "./LocalStorage.ts"
export {
  type IncomingUpload,
  LocalUploadRefused,
  type LocalUploadRefusal,
  LocalUploads,
  type LocalUploadsService,
  type OpenedObject
} from "./LocalUploads.ts"
export { defaultS3Tuning, layerS3, type S3Tuning } from "./S3Storage.ts"
export {
  type PresignedDownload,
  type PresignedUpload,
  Storage,
  type StoredObject,
  StorageUnavailable,
  type UploadRequest
} from "./StorageService.ts"

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
export const layer = (local: {
  readonly secret: Redacted.Redacted
  readonly dataDir: string
}): Layer.Layer<Storage | LocalUploads, never, StorageConfig> =>
  Layer.unwrap(Effect.gen(function*() {
    const settings = yield* StorageConfig
    return Option.isSome(settings.bucket)
      ? Layer.merge(layerS3(), Layer.succeed(LocalUploads, Option.none()))
      : layerLocal(local)
  }))

/** `layer`, with the local layer's URLs signed by a key derived from `JWT_SECRET`. */
export const layerFromConfig: Layer.Layer<Storage | LocalUploads, never, StorageConfig | AppConfig> = Layer.unwrap(
  Effect.gen(function*() {
    const { dataDir, jwtSecret } = yield* AppConfig
    return layer({ secret: jwtSecret, dataDir })
  })
)
