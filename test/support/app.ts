import { Duration, Effect, Layer, Option, Redacted, Ref } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { RateLimiter } from "effect/persistence"
import * as Capabilities from "../../src/app/Capabilities.ts"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as AiConfig from "../../src/config/AiConfig.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import { clusterTarget } from "./redisTopology.ts"
import * as StorageConfig from "../../src/config/StorageConfig.ts"
import * as ClientIp from "../../src/http/ClientIp.ts"
import * as Server from "../../src/app/Server.ts"
import * as Features from "../../src/app/Features.ts"
import { Mailer, type MailMessage } from "../../src/capabilities/mail/Mailer.ts"

export interface TestAppOptions {
  /** Real PostgreSQL; undefined: an embedded PGlite in a throwaway directory. */
  readonly databaseUrl?: string | undefined
  /** Real Redis; undefined: the in-memory cache. */
  readonly redisUrl?: string | undefined
  /** A real Redis Cluster (`host:port,...`) instead; see test/support/redisTopology.ts. */
  readonly redisClusterNodes?: string | undefined
  readonly config?: Partial<AppConfig.AppSettings>
  readonly storage?: Partial<StorageConfig.StorageSettings>
  readonly ai?: Partial<AiConfig.AiSettings>
  /** Replaces capabilities, e.g. a job queue whose jobs the test reads. */
  readonly overrides?: Layer.Layer<any>
  /** Runs the job worker in the app, as `npm start` does by default. */
  readonly worker?: boolean
}

/** Test settings: the given backends, quiet logs, everything else at its default. */
export const testConfig = (options: TestAppOptions) =>
  Layer.merge(
    AppConfig.layerTest({
      databaseUrl: Option.map(Option.fromNullishOr(options.databaseUrl), Redacted.make),
      redisUrl: Option.map(Option.fromNullishOr(options.redisUrl), Redacted.make),
      redisCluster: Option.map(Option.fromNullishOr(options.redisClusterNodes), clusterTarget),
      logLevel: "None",
      healthCheckTimeout: Duration.seconds(1),
      // An embedded database (without a database URL) and local uploads of its own, never the
      // developer's ./.data (whose lock another test file running at the same time would hold).
      dataDir: mkdtempSync(join(tmpdir(), "customify-test-data-")),
      ...options.config
    }),
    StorageConfig.layerTest(options.storage)
  ).pipe(Layer.merge(AiConfig.layerTest(options.ai)))

/** What the request pipeline needs, for probe APIs built in tests: test config, memory rate limiter. */
export const pipelineDependenciesWith = (config: Partial<AppConfig.AppSettings> = {}) =>
  Layer.mergeAll(ClientIp.layer, RateLimiter.layerStoreMemory).pipe(
    Layer.provideMerge(AppConfig.layerTest({ logLevel: "None", ...config }))
  )
export const pipelineDependencies = pipelineDependenciesWith()

/** The real routes and pipeline over the real capabilities, as a fetch-style handler (no port). */
export const makeTestApp = (options: TestAppOptions = {}) =>
  HttpRouter.toWebHandler(
    Layer.merge(Server.AppRoutes, options.worker === true ? Features.worker : Layer.empty).pipe(
      Layer.provideMerge(options.overrides ?? Layer.empty),
      Layer.provideMerge(Capabilities.layerFromConfig),
      Layer.provideMerge(testConfig(options)),
      Layer.provide(HttpServer.layerServices)
    ),
    { disableLogger: true }
  )

/** A mailer that keeps what it is asked to send, with the password reset tokens mailed. */
export const recordingMailer = () => {
  const sent = Effect.runSync(Ref.make<ReadonlyArray<MailMessage>>([]))
  const mails = () => Effect.runPromise(Ref.get(sent))
  return {
    layer: Layer.succeed(Mailer, Mailer.of({
      description: "recording",
      send: (mail) => Ref.update(sent, (all) => [...all, mail])
    })),
    mails,
    /** The tokens of the reset links mailed to `email`, oldest first. */
    resetTokens: async (email: string) =>
      (await mails()).filter((mail) => mail.to === email).map((mail) =>
        new URL(/https?:\/\/\S+/u.exec(mail.text)![0]).searchParams.get("token")!)
  }
}
