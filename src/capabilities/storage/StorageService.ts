import { Clock, Context, Data, Duration, Effect, Option } from "effect"

/** Storage cannot answer (unreachable, timed out, refused our credentials): the upload feature degrades to 503. */
export class StorageUnavailable extends Data.TaggedError("StorageUnavailable")<{
  readonly operation: string
  readonly cause: unknown
}> {}

export interface UploadRequest {
  readonly key: string
  readonly contentType: string
  readonly byteSize: number
  readonly expiresIn: Duration.Duration
}

export interface PresignedUpload {
  readonly url: string
  readonly method: "PUT"
  /** Headers the client must send with the PUT (the signed ones). */
  readonly headers: Record<string, string>
  readonly expiresAt: Date
}

export interface PresignedDownload {
  readonly url: string
  readonly expiresAt: Date
}

export interface StoredObject {
  readonly byteSize: number
  readonly contentType: string
}

/**
 * Where uploaded files live. Clients move the bytes themselves through presigned URLs; the API
 * only signs, checks (`head`) and deletes. S3 (or any S3-compatible store) when `S3_BUCKET` is
 * set, files under `DATA_DIR/uploads` served by the API otherwise, a Map for unit tests.
 */
export class Storage extends Context.Service<Storage, {
  readonly kind: "s3" | "local" | "memory"
  /** For the start-up log, e.g. `s3 bucket customify-uploads (eu-west-1)`; never contains credentials. */
  readonly description: string
  /** A URL for one PUT of exactly `byteSize` bytes of `contentType` to `key`, valid for `expiresIn`. */
  readonly presignUpload: (request: UploadRequest) => Effect.Effect<PresignedUpload, StorageUnavailable>
  /** What is stored at `key`, if anything. */
  readonly head: (key: string) => Effect.Effect<Option.Option<StoredObject>, StorageUnavailable>
  readonly presignDownload: (key: string, expiresIn: Duration.Duration) => Effect.Effect<PresignedDownload, StorageUnavailable>
  /** Deletes every object whose key starts with `prefix`; returns how many were deleted. */
  readonly deletePrefix: (prefix: string) => Effect.Effect<number, StorageUnavailable>
}>()("customify/capabilities/storage/Storage") {}

// ---- Keys ------------------------------------------------------------------------------------

const KEY_SEGMENT = /^[A-Za-z0-9._-]+$/

/** Keys are made by the assets feature; anything else reaching storage is a bug, never a path. */
export const isSafeKey = (key: string) =>
  key.length > 0 && key.length <= 1024 &&
  key.split("/").every((segment) => KEY_SEGMENT.test(segment) && segment !== "." && segment !== "..")

/** A prefix is a safe key, optionally ending in `/`. */
const isSafePrefix = (prefix: string) => isSafeKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix)

export const checkKey = (key: string) =>
  isSafeKey(key) ? Effect.void : Effect.die(new Error(`unsafe storage key: ${JSON.stringify(key)}`))
export const checkPrefix = (prefix: string) =>
  isSafePrefix(prefix) ? Effect.void : Effect.die(new Error(`unsafe storage prefix: ${JSON.stringify(prefix)}`))

// ---- Shared by the backends ------------------------------------------------------------------

export const expiresAtAfter = (expiresIn: Duration.Duration) =>
  Effect.map(Clock.currentTimeMillis, (now) => new Date(now + Duration.toMillis(expiresIn)))

export const logOutage = (error: StorageUnavailable) =>
  Effect.logWarning(`storage: ${error.operation} failed`, error.cause)
