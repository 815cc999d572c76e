import { ConfigProvider, Duration, Effect, Layer, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import * as Storage from "../../src/capabilities/storage/Storage.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import * as Settings from "../../src/config/Settings.ts"
import { DEFAULT_UPLOAD_MAX_BYTES, layerTest, loadSettings } from "../../src/config/StorageConfig.ts"

const load = (env: Record<string, string>) =>
  Effect.runPromise(
    loadSettings.pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env)),
      Effect.result
    )
  )

const settingsOf = async (env: Record<string, string>) => {
  const result = await load(env)
  if (result._tag === "Failure") throw result.failure
  return result.success
}

const problemsOf = async (env: Record<string, string>) => {
  const result = await load(env)
  if (result._tag === "Success") throw new Error("expected the configuration to be refused")
  return result.failure.problems
}

describe("storage configuration", () => {
  it("runs on local files with nothing set", async () => {
    const settings = await settingsOf({})
    expect(Option.isNone(settings.bucket)).toBe(true)
    expect(Option.isNone(settings.endpoint)).toBe(true)
    expect(settings.region).toBe("us-east-1")
    expect(Option.isNone(settings.accessKeyId)).toBe(true)
    expect(settings.forcePathStyle).toBe(false)
    expect(settings.uploadMaxBytes).toBe(DEFAULT_UPLOAD_MAX_BYTES)
    expect(DEFAULT_UPLOAD_MAX_BYTES).toBe(20 * 1024 * 1024)
    expect(Duration.toMinutes(settings.uploadUrlTtl)).toBe(15)
    expect(Duration.toMinutes(settings.downloadUrlTtl)).toBe(5)
    expect(settings.publicBaseUrl).toBe("http://localhost:3000")
    expect(settings.uploadsPerDesign).toBe(50)
    expect(settings.pendingUploadsPerUser).toBe(20)
  })

  it("defaults PUBLIC_BASE_URL to this server on PORT, and keeps an explicit one", async () => {
    expect((await settingsOf({ PORT: "8080" })).publicBaseUrl).toBe("http://localhost:8080")
    expect((await settingsOf({ PORT: "8080", PUBLIC_BASE_URL: "https://api.customify.app/" })).publicBaseUrl)
      .toBe("https://api.customify.app")
    // An invalid PORT is the app configuration's to report; the default does not report it twice.
    expect((await settingsOf({ PORT: "eighty" })).publicBaseUrl).toBe("http://localhost:3000")
  })

  it("bounds the upload limits: 1 to 10000 each", async () => {
    const settings = await settingsOf({ UPLOADS_PER_DESIGN: "5", PENDING_UPLOADS_PER_USER: "2" })
    expect(settings).toMatchObject({ uploadsPerDesign: 5, pendingUploadsPerUser: 2 })
    expect(await problemsOf({ UPLOADS_PER_DESIGN: "0", PENDING_UPLOADS_PER_USER: "10001" })).toEqual([
      "UPLOADS_PER_DESIGN: must be between 1 and 10000",
      "PENDING_UPLOADS_PER_USER: must be between 1 and 10000"
    ])
    expect((await problemsOf({ UPLOADS_PER_DESIGN: "lots", PENDING_UPLOADS_PER_USER: "2.5" })).map((p) => p.split(":")[0]))
      .toEqual(["UPLOADS_PER_DESIGN", "PENDING_UPLOADS_PER_USER"])
  })

  it("reads an S3-compatible store", async () => {
    const settings = await settingsOf({
      S3_BUCKET: "customify-uploads",
      S3_ENDPOINT: "http://minio:9000/",
      S3_REGION: "eu-west-1",
      S3_ACCESS_KEY_ID: "customify",
      S3_SECRET_ACCESS_KEY: "customify-secret",
      S3_FORCE_PATH_STYLE: "true",
      UPLOAD_MAX_BYTES: "5 MiB",
      UPLOAD_URL_TTL: "10 minutes",
      DOWNLOAD_URL_TTL: "1 minute",
      PUBLIC_BASE_URL: "https://api.customify.app/"
    })
    expect(settings.bucket).toEqual(Option.some("customify-uploads"))
    expect(settings.endpoint).toEqual(Option.some("http://minio:9000"))
    expect(settings.region).toBe("eu-west-1")
    expect(Option.map(settings.secretAccessKey, Redacted.value)).toEqual(Option.some("customify-secret"))
    expect(String(settings.secretAccessKey)).not.toContain("customify-secret")
    expect(settings.forcePathStyle).toBe(true)
    expect(settings.uploadMaxBytes).toBe(5 * 1024 * 1024)
    expect(Duration.toMinutes(settings.uploadUrlTtl)).toBe(10)
    expect(settings.publicBaseUrl).toBe("https://api.customify.app")
    expect((await settingsOf({ UPLOAD_MAX_BYTES: "1048576" })).uploadMaxBytes).toBe(1048576)
  })

  it("names every bad variable at once", async () => {
    const problems = await problemsOf({
      S3_FORCE_PATH_STYLE: "maybe",
      UPLOAD_URL_TTL: "soon",
      DOWNLOAD_URL_TTL: "later"
    })
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["DOWNLOAD_URL_TTL", "S3_FORCE_PATH_STYLE", "UPLOAD_URL_TTL"])

    const cross = await problemsOf({
      S3_BUCKET: "Not_A_Bucket",
      S3_ENDPOINT: "ftp://minio",
      S3_REGION: "Mars 1",
      S3_ACCESS_KEY_ID: "only-the-id",
      UPLOAD_MAX_BYTES: "lots",
      UPLOAD_URL_TTL: "1 second",
      DOWNLOAD_URL_TTL: "30 days",
      PUBLIC_BASE_URL: "localhost:3000"
    })
    expect(cross.map((p) => p.split(":")[0]).sort()).toEqual([
      "DOWNLOAD_URL_TTL",
      "PUBLIC_BASE_URL",
      "S3_BUCKET",
      "S3_ENDPOINT",
      "S3_REGION",
      "S3_SECRET_ACCESS_KEY",
      "UPLOAD_MAX_BYTES",
      "UPLOAD_URL_TTL"
    ])
    expect(cross.join("\n")).not.toContain("only-the-id")
    expect(await problemsOf({ UPLOAD_MAX_BYTES: "0" })).toEqual(["UPLOAD_MAX_BYTES: must be between 1 byte and 5 GiB"])
    expect(await problemsOf({ S3_ENDPOINT: "http://user:pw@minio:9000" })).toEqual([
      "S3_ENDPOINT: must be an http(s):// URL without credentials, like http://127.0.0.1:9000"
    ])
  })
})

describe("storage configuration with the rest", () => {
  it("reports the problems of every settings module in one list", async () => {
    const result = await Effect.runPromise(
      Effect.result(Layer.build(Settings.layer).pipe(
        Effect.scoped,
        Effect.provideService(
          ConfigProvider.ConfigProvider,
          ConfigProvider.fromUnknown({ PORT: "99999", S3_REGION: "Mars 1", AI_SUGGESTIONS_PER_HOUR: "0" })
        )
      ))
    )
    if (result._tag === "Success") throw new Error("expected the configuration to be refused")
    expect(result.failure._tag).toBe("InvalidConfiguration")
    expect(result.failure.problems.map((p: string) => p.split(":")[0])).toEqual(["PORT", "S3_REGION", "AI_SUGGESTIONS_PER_HOUR"])
  })

  it("chooses S3 when S3_BUCKET is set, local files otherwise, and says so without secrets", async () => {
    const kindOf = (overrides: Parameters<typeof layerTest>[0]) =>
      Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const storage = yield* Storage.Storage
        const local = yield* Storage.LocalUploads
        return { kind: storage.kind, description: storage.description, servesUploads: Option.isSome(local) }
      }).pipe(Effect.provide(Storage.layerFromConfig.pipe(
        Layer.provide(Layer.merge(layerTest(overrides), AppConfig.layerTest()))
      )))))
    expect(await kindOf({})).toMatchObject({ kind: "local", servesUploads: true })
    const s3 = await kindOf({
      bucket: Option.some("customify-uploads"),
      endpoint: Option.some("http://minio:9000"),
      accessKeyId: Option.some(Redacted.make("customify")),
      secretAccessKey: Option.some(Redacted.make("customify-secret")),
      forcePathStyle: true
    })
    expect(s3).toEqual({ kind: "s3", description: "s3 bucket customify-uploads (minio:9000, us-east-1, path-style)", servesUploads: false })
  })
})
