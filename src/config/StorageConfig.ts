import { ByteSize, Config, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { type InvalidConfiguration, loadFrom, readSettings } from "./AppConfig.ts"

/**
 * Where uploaded files live and how uploads are bounded, read from environment variables once
 * at start-up. `S3_BUCKET` set: an S3 bucket (AWS or any S3-compatible store such as MinIO);
 * unset: files under `DATA_DIR/uploads`, served back by the API itself.
 */
export interface StorageSettings {
  /** `None`: the local layer (files under `DATA_DIR/uploads`). */
  readonly bucket: Option.Option<string>
  /** An S3-compatible endpoint (`http(s)://host:port`); `None`: AWS S3 for `region`. */
  readonly endpoint: Option.Option<string>
  readonly region: string
  /** Both or neither; `None`: the default AWS credential chain (environment, profile, instance role). */
  readonly accessKeyId: Option.Option<Redacted.Redacted>
  readonly secretAccessKey: Option.Option<Redacted.Redacted>
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO and most S3-compatible stores). */
  readonly forcePathStyle: boolean
  /** The largest upload accepted, in bytes. */
  readonly uploadMaxBytes: number
  /** How long a presigned upload URL stays valid. */
  readonly uploadUrlTtl: Duration.Duration
  /** How long a presigned download URL stays valid. */
  readonly downloadUrlTtl: Duration.Duration
  /** The API's public origin (and path prefix), without a trailing slash: local upload URLs start with it. */
  readonly publicBaseUrl: string
  /** Uploads (pending and completed) a design may have. */
  readonly uploadsPerDesign: number
  /** Uploads a user may have pending (requested, not completed) at once, across designs. */
  readonly pendingUploadsPerUser: number
}

export class StorageConfig extends Context.Service<StorageConfig, StorageSettings>()("customify/config/StorageConfig") {}

export const DEFAULT_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
/** A single S3 PUT carries at most 5 GiB. */
const MAX_SINGLE_PUT_BYTES = 5 * 1024 * 1024 * 1024
/** SigV4 presigned URLs live at most 7 days. */
const MAX_URL_TTL = Duration.days(7)
const MIN_URL_TTL = Duration.seconds(30)

/** `20971520` (bytes) or a size like `20 MiB`. */
const byteCount = (name: string) =>
  Config.String(name).pipe(
    Config.option,
    Config.map(Option.map((raw): number | string => {
      const trimmed = raw.trim()
      if (/^\d+$/.test(trimmed)) return Number(trimmed)
      return Option.match(ByteSize.fromString(trimmed), {
        onNone: () => `expected a number of bytes like 20971520 or a size like 20 MiB, got "${raw}"`,
        onSome: (size) => ByteSize.toNumberUnsafe(size)
      })
    }))
  )

const settings = {
  bucket: Config.String("S3_BUCKET").pipe(Config.option, Config.map(Option.filter((s) => s.trim() !== ""))),
  endpoint: Config.String("S3_ENDPOINT").pipe(Config.option, Config.map(Option.filter((s) => s.trim() !== ""))),
  region: Config.String("S3_REGION").pipe(Config.withDefault("us-east-1")),
  accessKeyId: Config.Redacted("S3_ACCESS_KEY_ID").pipe(Config.option),
  secretAccessKey: Config.Redacted("S3_SECRET_ACCESS_KEY").pipe(Config.option),
  forcePathStyle: Config.Boolean("S3_FORCE_PATH_STYLE").pipe(Config.withDefault(false)),
  uploadMaxBytes: byteCount("UPLOAD_MAX_BYTES"),
  uploadUrlTtl: Config.Duration("UPLOAD_URL_TTL").pipe(Config.withDefault(Duration.minutes(15))),
  downloadUrlTtl: Config.Duration("DOWNLOAD_URL_TTL").pipe(Config.withDefault(Duration.minutes(5))),
  // Unset: this server on the port it listens on (an invalid PORT is AppConfig's to report).
  publicBaseUrl: Config.String("PUBLIC_BASE_URL").pipe(Config.orElse(() =>
    Config.Port("PORT").pipe(Config.withDefault(3000), Config.orElse(() => Config.succeed(3000)), Config.map((port) => `http://localhost:${port}`))
  )),
  uploadsPerDesign: Config.Int("UPLOADS_PER_DESIGN").pipe(Config.withDefault(50)),
  pendingUploadsPerUser: Config.Int("PENDING_UPLOADS_PER_USER").pipe(Config.withDefault(20))
} as const

type Raw = { readonly [K in keyof typeof settings]: Config.Success<(typeof settings)[K]> }

const isHttpUrl = (value: string) => {
  try {
    const url = new URL(value)
    return (url.protocol === "http:" || url.protocol === "https:") && url.search === "" && url.hash === "" &&
      url.username === "" && url.password === ""
  } catch {
    return false
  }
}

const ttlProblem = (name: string, ttl: Duration.Duration) =>
  Duration.isLessThan(ttl, MIN_URL_TTL) || Duration.isGreaterThan(ttl, MAX_URL_TTL)
    ? [`${name}: must be between 30 seconds and 7 days`]
    : []

const crossChecks = (raw: Raw): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (Option.isSome(raw.bucket) && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(raw.bucket.value)) {
    problems.push("S3_BUCKET: must be a bucket name (3 to 63 of a-z, 0-9, . and -)")
  }
  if (Option.isSome(raw.endpoint) && !isHttpUrl(raw.endpoint.value)) {
    problems.push("S3_ENDPOINT: must be an http(s):// URL without credentials, like http://127.0.0.1:9000")
  }
  if (!/^[a-z0-9-]{1,40}$/.test(raw.region)) problems.push("S3_REGION: must be a region like us-east-1")
  if (Option.isSome(raw.accessKeyId) !== Option.isSome(raw.secretAccessKey)) {
    problems.push(
      Option.isSome(raw.accessKeyId)
        ? "S3_SECRET_ACCESS_KEY: required with S3_ACCESS_KEY_ID (or unset both for the default AWS credential chain)"
        : "S3_ACCESS_KEY_ID: required with S3_SECRET_ACCESS_KEY (or unset both for the default AWS credential chain)"
    )
  }
  if (Option.isSome(raw.uploadMaxBytes)) {
    const value = raw.uploadMaxBytes.value
    if (typeof value === "string") problems.push(`UPLOAD_MAX_BYTES: ${value}`)
    else if (value < 1 || value > MAX_SINGLE_PUT_BYTES) problems.push("UPLOAD_MAX_BYTES: must be between 1 byte and 5 GiB")
  }
  problems.push(...ttlProblem("UPLOAD_URL_TTL", raw.uploadUrlTtl), ...ttlProblem("DOWNLOAD_URL_TTL", raw.downloadUrlTtl))
  if (!isHttpUrl(raw.publicBaseUrl)) {
    problems.push("PUBLIC_BASE_URL: must be an http(s):// URL like https://api.customify.app")
  }
  if (raw.uploadsPerDesign < 1 || raw.uploadsPerDesign > 10_000) problems.push("UPLOADS_PER_DESIGN: must be between 1 and 10000")
  if (raw.pendingUploadsPerUser < 1 || raw.pendingUploadsPerUser > 10_000) {
    problems.push("PENDING_UPLOADS_PER_USER: must be between 1 and 10000")
  }
  return problems
}

/** Reads and validates every storage setting; fails with every problem found, each naming its variable. */
export const loadSettings: Effect.Effect<StorageSettings, InvalidConfiguration> = Effect.gen(function*() {
  const raw = yield* readSettings(settings, crossChecks)
  return {
    ...raw,
    bucket: Option.map(raw.bucket, (s) => s.trim()),
    endpoint: Option.map(raw.endpoint, (s) => s.trim().replace(/\/+$/, "")),
    uploadMaxBytes: Option.match(raw.uploadMaxBytes, {
      onNone: () => DEFAULT_UPLOAD_MAX_BYTES,
      onSome: (value) => value as number
    }),
    publicBaseUrl: raw.publicBaseUrl.trim().replace(/\/+$/, "")
  }
})

export const layer: Layer.Layer<StorageConfig, InvalidConfiguration> = Layer.effect(StorageConfig, loadSettings)

/** For tests: the defaults of `settings` (the local layer), overridden where given. */
export const layerTest = (overrides: Partial<StorageSettings> = {}): Layer.Layer<StorageConfig> =>
  Layer.effect(StorageConfig, Effect.map(loadFrom(loadSettings, {}), (settings) => ({ ...settings, ...overrides })))
