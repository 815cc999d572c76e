import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { StorageConfig, type StorageSettings } from "../../config/StorageConfig.ts"
import {
  checkKey,
  checkPrefix,
  expiresAtAfter,
  logOutage,
  Storage,
  type StoredObject,
  StorageUnavailable,
  type UploadRequest
} from "./StorageService.ts"
/** Timeouts and retries of the S3 client; the defaults suit production. */
export interface S3Tuning {
  /** TCP/TLS connect, per attempt. */
  readonly connectTimeout: Duration.Duration
  /** Request and response, per attempt. */
  readonly requestTimeout: Duration.Duration
  /** Attempts per call, including the first; the SDK retries retryable errors with jittered backoff. */
  readonly maxAttempts: number
  /** Bound on one call, all attempts included. */
  readonly operationTimeout: Duration.Duration
}

export const defaultS3Tuning: S3Tuning = {
  connectTimeout: Duration.seconds(2),
  requestTimeout: Duration.seconds(5),
  maxAttempts: 3,
  operationTimeout: Duration.seconds(12)
}

const describeS3 = (settings: StorageSettings, bucket: string) => {
  const where = Option.match(settings.endpoint, {
    onNone: () => settings.region,
    onSome: (endpoint) => {
      try {
        return `${new URL(endpoint).host}, ${settings.region}`
      } catch {
        return settings.region
      }
    }
  })
  return `s3 bucket ${bucket} (${where}${settings.forcePathStyle ? ", path-style" : ""})`
}

const isNotFound = (cause: unknown) => {
  const error = cause as { readonly name?: string; readonly $metadata?: { readonly httpStatusCode?: number } }
  return error?.name === "NotFound" || error?.name === "NoSuchKey" || error?.$metadata?.httpStatusCode === 404
}

const isSvgKey = (key: string) => key.toLowerCase().endsWith(".svg")

/**
 * AWS S3 or an S3-compatible store, through `@aws-sdk/client-s3`. Uploads are presigned PUTs
 * whose signature covers `Content-Type` and `Content-Length`, so S3 itself refuses another
 * type or size. Every call is bounded (per-attempt timeouts, `maxAttempts` with the SDK's
 * backoff, a bound on the whole call) and traced; failures are `StorageUnavailable`.
 *
 * The SDK (about 33 MiB of memory) is imported when this layer is built, so processes on local
 * storage never load it; a failure to load it fails the start-up.
 */
export const layerS3 = (tuning: Partial<S3Tuning> = {}): Layer.Layer<Storage, never, StorageConfig> =>
  Layer.effect(Storage, Effect.gen(function*() {
    const settings = yield* StorageConfig
    const { connectTimeout, maxAttempts, operationTimeout, requestTimeout } = { ...defaultS3Tuning, ...tuning }
    const bucket = Option.getOrElse(settings.bucket, () => "")
    if (bucket === "") return yield* Effect.die(new Error("layerS3 needs S3_BUCKET"))
    const [
      { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client },
      { getSignedUrl }
    ] = yield* Effect.promise(() => Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/s3-request-presigner")]))
    const credentials = Option.isSome(settings.accessKeyId) && Option.isSome(settings.secretAccessKey)
      ? {
        credentials: {
          accessKeyId: Redacted.value(settings.accessKeyId.value),
          secretAccessKey: Redacted.value(settings.secretAccessKey.value)
        }
      }
      : {}
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new S3Client({
          region: settings.region,
          ...Option.match(settings.endpoint, { onNone: () => ({}), onSome: (endpoint) => ({ endpoint }) }),
          forcePathStyle: settings.forcePathStyle,
          ...credentials,
          maxAttempts,
          retryMode: "standard",
          // Checksums computed over an empty body would be signed into presigned URLs and refused.
          requestChecksumCalculation: "WHEN_REQUIRED",
          responseChecksumValidation: "WHEN_REQUIRED",
          requestHandler: {
            connectionTimeout: Duration.toMillis(connectTimeout),
            requestTimeout: Duration.toMillis(requestTimeout),
            throwOnRequestTimeout: true
          }
        })
      ),
      (client) => Effect.sync(() => client.destroy())
    )

    /** One SDK call (or presign), bounded and mapped to `StorageUnavailable`. */
    const call = <A>(operation: string, run: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({ try: (signal) => run(signal), catch: (cause) => cause }).pipe(
        Effect.timeoutOrElse({
          duration: operationTimeout,
          orElse: () => Effect.fail(new Error(`${operation} timed out after ${Duration.format(operationTimeout)}`))
        })
      )
    const unavailable = (operation: string) => (cause: unknown) => {
      const error = new StorageUnavailable({ operation, cause })
      return Effect.andThen(logOutage(error), Effect.fail(error))
    }

    const presignUpload = Effect.fn("Storage.presignUpload")(function*(request: UploadRequest) {
      yield* checkKey(request.key)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "s3", "storage.key": request.key })
      const expiresAt = yield* expiresAtAfter(request.expiresIn)
      const url = yield* call("presignUpload", () =>
        getSignedUrl(
          client,
          new PutObjectCommand({
            Bucket: bucket,
            Key: request.key,
            ContentType: request.contentType,
            ContentLength: request.byteSize
          }),
          {
            expiresIn: Math.max(1, Math.floor(Duration.toSeconds(request.expiresIn))),
            // Part of the signature: S3 refuses the PUT with another type or size.
            signableHeaders: new Set(["content-type", "content-length"])
          }
        )).pipe(Effect.catch(unavailable("presignUpload")))
      return { url, method: "PUT" as const, headers: { "Content-Type": request.contentType }, expiresAt }
    })

    const head = Effect.fn("Storage.head")(function*(key: string) {
      yield* checkKey(key)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "s3", "storage.key": key })
      return yield* call("head", (abortSignal) =>
        client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal })).pipe(
          Effect.map((output): Option.Option<StoredObject> =>
            Option.some({ byteSize: output.ContentLength ?? 0, contentType: output.ContentType ?? "" })
          ),
          Effect.catch((cause) => isNotFound(cause) ? Effect.succeed(Option.none()) : unavailable("head")(cause))
        )
    })

    const presignDownload = Effect.fn("Storage.presignDownload")(function*(key: string, expiresIn: Duration.Duration) {
      yield* checkKey(key)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "s3", "storage.key": key })
      const expiresAt = yield* expiresAtAfter(expiresIn)
      const url = yield* call("presignDownload", () =>
        getSignedUrl(
          client,
          new GetObjectCommand({
            Bucket: bucket,
            Key: key,
            // Opened directly, an SVG downloads instead of rendering (it may carry scripts); <img> ignores this.
            ...(isSvgKey(key) ? { ResponseContentDisposition: "attachment" } : {})
          }),
          { expiresIn: Math.max(1, Math.floor(Duration.toSeconds(expiresIn))) }
        )).pipe(Effect.catch(unavailable("presignDownload")))
      return { url, expiresAt }
    })

    const deletePrefix = Effect.fn("Storage.deletePrefix")(function*(prefix: string) {
      yield* checkPrefix(prefix)
      yield* Effect.annotateCurrentSpan({ "storage.kind": "s3", "storage.prefix": prefix })
      let deleted = 0
      let continuationToken: string | undefined = undefined
      do {
        const page = yield* call("deletePrefix.list", (abortSignal) =>
          client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000, ContinuationToken: continuationToken }),
            { abortSignal }
          )).pipe(Effect.catch(unavailable("deletePrefix")))
        const keys = (page.Contents ?? []).flatMap((object) => object.Key === undefined ? [] : [{ Key: object.Key }])
        if (keys.length > 0) {
          const result = yield* call("deletePrefix.delete", (abortSignal) =>
            client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }), { abortSignal })
          ).pipe(Effect.catch(unavailable("deletePrefix")))
          const failed = result.Errors ?? []
          deleted += keys.length - failed.length
          if (failed.length > 0) {
            return yield* unavailable("deletePrefix")(
              new Error(`${failed.length} objects not deleted, e.g. ${failed[0]?.Key}: ${failed[0]?.Code}`)
            )
          }
        }
        continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (continuationToken !== undefined)
      return deleted
    })

    return Storage.of({
      kind: "s3",
      description: describeS3(settings, bucket),
      presignUpload,
      head,
      presignDownload,
      deletePrefix
    })
  }))
