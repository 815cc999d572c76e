import { isIP } from "node:net"
import * as RedisClusterNodes from "./RedisClusterNodes.ts"
import { ByteSize, Config, ConfigProvider, Context, Duration, Effect, Layer, LogLevel, Option, Redacted, Schema, SchemaTransformation } from "effect"

/**
 * Every setting of the Core API, read from environment variables once at start-up.
 * Each variable is decoded on its own so that a bad environment reports every bad
 * variable at once, by name, instead of only the first one.
 */
export interface AppSettings {
  readonly nodeEnv: "development" | "test" | "production"
  readonly host: string
  readonly port: number
  /** `None`: run on the embedded PostgreSQL (PGlite) under `dataDir`. */
  readonly databaseUrl: Option.Option<Redacted.Redacted>
  readonly databasePoolMax: number
  readonly dataDir: string
  /** `None`: Redis-backed stores are replaced by in-memory ones. */
  readonly redisUrl: Option.Option<Redacted.Redacted>
  /** A Redis Cluster instead of one node (docs/decisions/0022); never set together with `redisUrl`. */
  readonly redisCluster: Option.Option<RedisClusterNodes.RedisClusterTarget>
  readonly jwtSecret: Redacted.Redacted
  readonly jwtSecretIsDevelopmentDefault: boolean
  readonly jwtIssuer: string
  readonly jwtAudience: string
  readonly accessTokenTtl: Duration.Duration
  readonly refreshTokenIdleTtl: Duration.Duration
  readonly refreshTokenAbsoluteTtl: Duration.Duration
  readonly bcryptCost: number
  /**
   * Password hashes and checks that may wait beyond the running ones; more are refused at once
   * (503 `busy`). Unset: `defaultPasswordHashQueue` of the cost and the request timeout.
   */
  readonly passwordHashQueue: number
  /** Static keys of internal callers (the integration layer), sent as `X-Service-Key`. */
  readonly serviceApiKeys: ReadonlyArray<Redacted.Redacted>
  readonly migrateOnStart: boolean
  readonly logLevel: LogLevel.LogLevel
  readonly corsOrigins: ReadonlyArray<string>
  readonly trustedProxies: ReadonlyArray<string>
  /** Requests per minute per client IP; 0 turns rate limiting off (benchmarks, load tests). */
  readonly rateLimitPerMinute: number
  /** Open sessions one user may have; signing in beyond it ends the oldest. */
  readonly maxSessionsPerUser: number
  /** Client addresses the in-memory rate-limit store counts at most (embedded defaults, Redis outages). */
  readonly rateLimitMemoryEntries: number
  readonly maxBodySize: ByteSize.ByteSize
  readonly requestTimeout: Duration.Duration
  /** Bearer token for GET /metrics; `None`: only loopback callers may read it. */
  readonly metricsToken: Option.Option<Redacted.Redacted>
  /** OTLP/HTTP endpoint for traces; `None`: tracing is off and costs nothing. */
  readonly otlpEndpoint: Option.Option<string>
  readonly serviceName: string
  /** SQS queue of this service's jobs; `None`: the durable queue in PostgreSQL. */
  readonly sqsQueueUrl: Option.Option<string>
  /** SQS queue the render engine and PDF workers read; defaults to `sqsQueueUrl`. */
  readonly sqsRenderQueueUrl: Option.Option<string>
  readonly sqsEndpoint: Option.Option<string>
  readonly sqsRegion: string
  /** Deliveries before a job is given up (SQS's redrive policy should use the same number). */
  readonly jobMaxAttempts: number
  /** Finished jobs (completed or dead-lettered) are deleted this long after they finished. */
  readonly jobRetention: Duration.Duration
  /** Render and PDF jobs a user may request in any hour. */
  readonly renderJobsPerHour: number
  /** Run the job worker inside the API process (defaults to on for the embedded database). */
  readonly workerInProcess: boolean
  readonly healthCheckTimeout: Duration.Duration
  readonly shutdownTimeout: Duration.Duration
  /** `smtp://user:pass@host:port` or `smtps://…`; `None`: mails are logged, not sent (refused in production). */
  readonly smtpUrl: Option.Option<Redacted.Redacted>
  /** The From of every mail, e.g. `Customify <no-reply@customify.app>`. */
  readonly mailFrom: string
  /** The dashboard page a password reset mail links to; the reset flow appends `?token=…`. */
  readonly passwordResetUrl: string
}

export class AppConfig extends Context.Service<AppConfig, AppSettings>()("customify/config/AppConfig") {}

/** Used only outside production, and loudly marked so nobody mistakes it for a real secret. */
export const DEVELOPMENT_JWT_SECRET = "development-only-jwt-secret-do-not-use-in-production!"
const MIN_JWT_SECRET_LENGTH = 32

export class InvalidConfiguration extends Error {
  readonly _tag = "InvalidConfiguration"
  readonly problems: ReadonlyArray<string>
  constructor(problems: ReadonlyArray<string>) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`)
    this.name = "InvalidConfiguration"
    this.problems = problems
  }
}

const commaList = (name: string) =>
  Config.String(name).pipe(
    Config.withDefault(""),
    Config.map((raw) => raw.split(",").map((item) => item.trim()).filter((item) => item.length > 0))
  )

const isOrigin = (value: string): boolean => {
  try {
    const url = new URL(value)
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value
  } catch {
    return false
  }
}

const isIpOrCidr = (value: string): boolean => {
  const [address, prefix, ...rest] = value.split("/")
  const family = isIP(address ?? "")
  if (family === 0 || rest.length > 0) return false
  if (prefix === undefined) return true
  const bits = Number(prefix)
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128)
}

/** Where SMTP_URL points. */
export interface SmtpEndpoint {
  /** `smtps://`: TLS from the first byte (port 465); `smtp://`: STARTTLS when the server offers it. */
  readonly secure: boolean
  readonly host: string
  readonly port: number
  readonly auth: { readonly user: string; readonly pass: Redacted.Redacted } | undefined
  /** `smtp mail.example.com:587`: no credentials, fit for a log line. */
  readonly description: string
}

/**
 * `smtp://user:pass@host:port` (percent-encoded user and password, as in any URL) or
 * `smtps://…`; `undefined` for anything else, a path, query or fragment included (nothing there
 * would be read).
 */
export const parseSmtpUrl = (value: string): SmtpEndpoint | undefined => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return undefined
  }
  if (url.protocol !== "smtp:" && url.protocol !== "smtps:") return undefined
  if (url.hostname === "" || (url.pathname !== "" && url.pathname !== "/") || url.search !== "" || url.hash !== "") {
    return undefined
  }
  if (url.username === "" && url.password !== "") return undefined
  if (url.username !== "" && url.password === "") return undefined
  let auth: SmtpEndpoint["auth"]
  try {
    auth = url.username === ""
      ? undefined
      : { user: decodeURIComponent(url.username), pass: Redacted.make(decodeURIComponent(url.password)) }
  } catch {
    return undefined
  }
  const secure = url.protocol === "smtps:"
  const port = url.port === "" ? (secure ? 465 : 587) : Number(url.port)
  return {
    secure,
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port,
    auth,
    description: `${secure ? "smtps" : "smtp"} ${url.hostname}:${port}`
  }
}

/** `no-reply@customify.app` or `Customify <no-reply@customify.app>`, on one line. */
const isMailbox = (value: string): boolean => {
  const address = /^[^\s@<>,;:"()[\]\\]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+$/
  const named = /^([^<>\r\n"]*|"[^"\r\n]*")\s*<([^<>]+)>$/.exec(value.trim())
  return named === null ? address.test(value.trim()) : address.test(named[2]!)
}

/** An absolute http(s) URL with no query or fragment, since the reset flow appends `?token=…`. */
const resetUrlProblem = (value: string, production: boolean): string | undefined => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return "must be an absolute http(s):// URL"
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an absolute http(s):// URL"
  if (url.search !== "" || url.hash !== "" || value.includes("?") || value.includes("#")) {
    return "must have no query or fragment (the reset flow appends ?token=...)"
  }
  if (url.username !== "" || url.password !== "") return "must not carry credentials"
  if (production && url.protocol !== "https:") return "must be https:// in production (the link carries a reset token)"
  return undefined
}

const DEVELOPMENT_PASSWORD_RESET_URL = "http://localhost:3000/reset-password"

/** Other tools' names for a level: `warning` (Python, syslog, logrus), `off` (log4j), `silent` (pino, npm). */
const LOG_LEVEL_ALIASES: Record<string, LogLevel.LogLevel> = { warning: "Warn", off: "None", silent: "None" }

/** A log level in any case (`info`, `INFO`, `Info`): other tools spell them in lower case. */
const LogLevelInAnyCase = Schema.String.pipe(Schema.decodeTo(
  Schema.Literals(LogLevel.values),
  SchemaTransformation.transform<LogLevel.LogLevel, string>({
    decode: (raw) => {
      const spelling = raw.trim().toLowerCase()
      return (LOG_LEVEL_ALIASES[spelling] ?? LogLevel.values.find((level) => level.toLowerCase() === spelling) ?? raw) as LogLevel.LogLevel
    },
    encode: (level) => level
  })
))

const settings = {
  nodeEnv: Config.Literals(["development", "test", "production"], "NODE_ENV").pipe(Config.withDefault("development")),
  host: Config.String("HOST").pipe(Config.withDefault("0.0.0.0")),
  port: Config.Port("PORT").pipe(Config.withDefault(3000)),
  databaseUrl: Config.Redacted("DATABASE_URL").pipe(Config.option),
  databasePoolMax: Config.Int("DATABASE_POOL_MAX").pipe(Config.withDefault(10)),
  dataDir: Config.String("DATA_DIR").pipe(Config.withDefault("./.data")),
  redisUrl: Config.Redacted("REDIS_URL").pipe(Config.option),
  redisClusterNodes: Config.Redacted("REDIS_CLUSTER_NODES").pipe(Config.option),
  jwtSecret: Config.Redacted("JWT_SECRET").pipe(Config.option),
  jwtIssuer: Config.String("JWT_ISSUER").pipe(Config.withDefault("customify-core-api")),
  jwtAudience: Config.String("JWT_AUDIENCE").pipe(Config.withDefault("customify")),
  accessTokenTtl: Config.Duration("ACCESS_TOKEN_TTL").pipe(Config.withDefault(Duration.minutes(15))),
  refreshTokenIdleTtl: Config.Duration("REFRESH_TOKEN_IDLE_TTL").pipe(Config.withDefault(Duration.days(7))),
  refreshTokenAbsoluteTtl: Config.Duration("REFRESH_TOKEN_ABSOLUTE_TTL").pipe(Config.withDefault(Duration.days(30))),
  bcryptCost: Config.Int("BCRYPT_COST").pipe(Config.withDefault(12)),
  passwordHashQueue: Config.Int("PASSWORD_HASH_QUEUE").pipe(Config.option),
  serviceApiKeys: commaList("SERVICE_API_KEYS"),
  migrateOnStart: Config.Boolean("MIGRATE_ON_START").pipe(Config.withDefault(true)),
  logLevel: Config.schema(LogLevelInAnyCase, "LOG_LEVEL").pipe(Config.withDefault("Info" as const)),
  corsOrigins: commaList("CORS_ORIGINS"),
  trustedProxies: commaList("TRUSTED_PROXIES"),
  rateLimitPerMinute: Config.Int("RATE_LIMIT_PER_MINUTE").pipe(Config.withDefault(100)),
  maxSessionsPerUser: Config.Int("MAX_SESSIONS_PER_USER").pipe(Config.withDefault(20)),
  rateLimitMemoryEntries: Config.Int("RATE_LIMIT_MEMORY_ENTRIES").pipe(Config.withDefault(100_000)),
  maxBodySize: Config.ByteSize("MAX_BODY_SIZE").pipe(Config.withDefault(ByteSize.mebibytes(1))),
  requestTimeout: Config.Duration("REQUEST_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30))),
  metricsToken: Config.Redacted("METRICS_TOKEN").pipe(Config.option),
  otlpEndpoint: Config.String("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(Config.option),
  serviceName: Config.String("OTEL_SERVICE_NAME").pipe(Config.withDefault("customify-core-api")),
  sqsQueueUrl: Config.String("SQS_QUEUE_URL").pipe(Config.option),
  sqsRenderQueueUrl: Config.String("SQS_RENDER_QUEUE_URL").pipe(Config.option),
  sqsEndpoint: Config.String("SQS_ENDPOINT").pipe(Config.option),
  sqsRegion: Config.String("SQS_REGION").pipe(Config.withDefault("us-east-1")),
  jobMaxAttempts: Config.Int("JOB_MAX_ATTEMPTS").pipe(Config.withDefault(5)),
  jobRetention: Config.Duration("JOB_RETENTION").pipe(Config.withDefault(Duration.days(7))),
  renderJobsPerHour: Config.Int("RENDER_JOBS_PER_HOUR").pipe(Config.withDefault(30)),
  workerInProcess: Config.Boolean("WORKER_IN_PROCESS").pipe(Config.option),
  healthCheckTimeout: Config.Duration("HEALTH_CHECK_TIMEOUT").pipe(Config.withDefault(Duration.seconds(1))),
  shutdownTimeout: Config.Duration("SHUTDOWN_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10))),
  smtpUrl: Config.Redacted("SMTP_URL").pipe(Config.option),
  mailFrom: Config.String("MAIL_FROM").pipe(Config.withDefault("Customify <no-reply@customify.app>")),
  passwordResetUrl: Config.String("PASSWORD_RESET_URL").pipe(Config.option)
} as const

type Raw = { readonly [K in keyof typeof settings]: Config.Success<(typeof settings)[K]> }

const crossChecks = (raw: Raw): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (raw.dataDir.trim() === "") problems.push("DATA_DIR: must not be empty")
  if (raw.databasePoolMax < 1) problems.push("DATABASE_POOL_MAX: must be at least 1")
  if (raw.jobMaxAttempts < 1 || raw.jobMaxAttempts > 100) problems.push("JOB_MAX_ATTEMPTS: must be between 1 and 100")
  if (Duration.toHours(raw.jobRetention) < 1) problems.push("JOB_RETENTION: must be at least 1 hour")
  if (raw.renderJobsPerHour < 1 || raw.renderJobsPerHour > 100_000) {
    problems.push("RENDER_JOBS_PER_HOUR: must be between 1 and 100000")
  }
  for (const [name, value] of [["SQS_QUEUE_URL", raw.sqsQueueUrl], ["SQS_RENDER_QUEUE_URL", raw.sqsRenderQueueUrl], ["SQS_ENDPOINT", raw.sqsEndpoint]] as const) {
    if (Option.isSome(value) && !/^https?:\/\//.test(value.value)) problems.push(`${name}: must be an http(s):// URL`)
  }
  if (raw.rateLimitPerMinute < 0) problems.push("RATE_LIMIT_PER_MINUTE: must be 0 (off) or more")
  if (raw.maxSessionsPerUser < 1 || raw.maxSessionsPerUser > 1000) problems.push("MAX_SESSIONS_PER_USER: must be between 1 and 1000")
  if (raw.rateLimitMemoryEntries < 100 || raw.rateLimitMemoryEntries > 10_000_000) {
    problems.push("RATE_LIMIT_MEMORY_ENTRIES: must be between 100 and 10000000")
  }
  if (Duration.toMillis(raw.requestTimeout) < 100) problems.push("REQUEST_TIMEOUT: must be at least 100 milliseconds")
  if (Option.isSome(raw.metricsToken) && Redacted.value(raw.metricsToken.value).length < 16) {
    problems.push("METRICS_TOKEN: must be at least 16 characters")
  }
  if (Option.isSome(raw.otlpEndpoint) && !/^https?:\/\//.test(raw.otlpEndpoint.value)) {
    problems.push("OTEL_EXPORTER_OTLP_ENDPOINT: must be an http(s):// URL")
  }
  if (raw.bcryptCost < 10 || raw.bcryptCost > 16) problems.push("BCRYPT_COST: must be between 10 and 16")
  if (Option.isSome(raw.passwordHashQueue) && (raw.passwordHashQueue.value < 0 || raw.passwordHashQueue.value > 10_000)) {
    problems.push("PASSWORD_HASH_QUEUE: must be between 0 and 10000")
  }
  if (Duration.toSeconds(raw.accessTokenTtl) < 30 || Duration.toHours(raw.accessTokenTtl) > 1) {
    problems.push("ACCESS_TOKEN_TTL: must be between 30 seconds and 1 hour")
  }
  if (Duration.isLessThan(raw.refreshTokenAbsoluteTtl, raw.refreshTokenIdleTtl)) {
    problems.push("REFRESH_TOKEN_ABSOLUTE_TTL: must not be shorter than REFRESH_TOKEN_IDLE_TTL")
  }
  for (const key of raw.serviceApiKeys) {
    if (key.length < 32) problems.push("SERVICE_API_KEYS: every key must be at least 32 characters")
  }
  for (const origin of raw.corsOrigins) {
    if (!isOrigin(origin)) problems.push(`CORS_ORIGINS: "${origin}" is not an origin like https://shop.example.com`)
  }
  for (const proxy of raw.trustedProxies) {
    if (!isIpOrCidr(proxy)) problems.push(`TRUSTED_PROXIES: "${proxy}" is not an IP address or CIDR range`)
  }
  if (Option.isSome(raw.databaseUrl) && !/^postgres(ql)?:\/\//.test(Redacted.value(raw.databaseUrl.value))) {
    problems.push("DATABASE_URL: must be a postgres:// or postgresql:// URL")
  }
  if (Option.isSome(raw.redisUrl) && !/^rediss?:\/\//.test(Redacted.value(raw.redisUrl.value))) {
    problems.push("REDIS_URL: must be a redis:// or rediss:// URL")
  }
  if (Option.isSome(raw.redisClusterNodes)) {
    const target = RedisClusterNodes.parse(Redacted.value(raw.redisClusterNodes.value))
    if (typeof target === "string") problems.push(`REDIS_CLUSTER_NODES: ${target}`)
    if (Option.isSome(raw.redisUrl)) {
      problems.push("REDIS_URL and REDIS_CLUSTER_NODES: set one, not both (one Redis node or a Redis Cluster)")
    }
  }
  if (Option.isSome(raw.smtpUrl) && parseSmtpUrl(Redacted.value(raw.smtpUrl.value)) === undefined) {
    problems.push("SMTP_URL: must be smtp://user:pass@host:port or smtps://user:pass@host:port (user and password percent-encoded)")
  }
  if (!isMailbox(raw.mailFrom)) problems.push("MAIL_FROM: must be an address like Customify <no-reply@customify.app>")
  if (Option.isSome(raw.passwordResetUrl)) {
    const problem = resetUrlProblem(raw.passwordResetUrl.value, raw.nodeEnv === "production")
    if (problem !== undefined) problems.push(`PASSWORD_RESET_URL: ${problem}`)
  }
  const secret = Option.map(raw.jwtSecret, Redacted.value)
  if (raw.nodeEnv === "production") {
    if (Option.isNone(secret) || secret.value === DEVELOPMENT_JWT_SECRET) {
      problems.push("JWT_SECRET: required in production (the development secret is refused)")
    }
    if (Option.isNone(raw.smtpUrl)) problems.push("SMTP_URL: required in production (without it mails are only logged)")
    if (Option.isNone(raw.passwordResetUrl)) {
      problems.push("PASSWORD_RESET_URL: required in production (the dashboard page reset mails link to)")
    }
  }
  if (Option.isSome(secret) && secret.value.length < MIN_JWT_SECRET_LENGTH) {
    problems.push(`JWT_SECRET: must be at least ${MIN_JWT_SECRET_LENGTH} characters (256 bits)`)
  }
  return problems
}

/** bcrypt at cost 12 takes about 250 ms on one core (about 235 ms measured here); each step of the cost doubles it. */
const COST_12_HASH_MILLIS = 250

/**
 * PASSWORD_HASH_QUEUE when unset: as many waiting hashes as a single hashing thread clears in a
 * third of REQUEST_TIMEOUT at BCRYPT_COST, so that the last request admitted still answers well
 * within the timeout; the other two thirds are the margin for its database and Redis work and for
 * a slower or busier core than the estimate. 10 s / 250 ms = 40 at the defaults (cost 12, 30 s),
 * 2 at cost 16. Where two threads hash (four or more cores), the same queue clears twice as fast.
 * Beyond it a request is better told "busy, retry shortly" at once than answered after 30 s.
 */
export const defaultPasswordHashQueue = (bcryptCost: number, requestTimeout: Duration.Duration): number =>
  Math.max(1, Math.floor(Duration.toMillis(requestTimeout) / 3 / (COST_12_HASH_MILLIS * 2 ** (bcryptCost - 12))))

/** `SchemaError(Expected a value between 1 and 65535 at ["PORT"])` → `PORT: Expected a value between 1 and 65535`. */
const describeConfigError = (message: string): string => {
  const flat = message.replace(/\s+/g, " ")
  const variable = /at \["(\w+)"\]/.exec(flat)?.[1]
  const reason = flat.replace(/^\w+\(/, "").replace(/\)$/, "").replace(/ at \["\w+"\]/, "").trim()
  return variable === undefined ? reason : `${variable}: ${reason}`
}

/**
 * Reads every config of `settings` on its own, so that a bad environment reports every bad
 * variable at once, then applies `crossChecks`. Shared by every settings module.
 */
export const readSettings = <const S extends Record<string, Config.Config<unknown>>>(
  settings: S,
  crossChecks: (raw: { readonly [K in keyof S]: Config.Success<S[K]> }) => ReadonlyArray<string>
): Effect.Effect<{ readonly [K in keyof S]: Config.Success<S[K]> }, InvalidConfiguration> =>
  Effect.gen(function*() {
    const results = yield* Effect.forEach(
      Object.entries(settings),
      ([key, config]) => Effect.result(Effect.map(config, (value) => [key, value] as const)),
      { concurrency: 1 }
    )
    const problems: Array<string> = []
    const values: Record<string, unknown> = {}
    for (const result of results) {
      if (result._tag === "Success") values[result.success[0]] = result.success[1]
      else problems.push(describeConfigError(result.failure.message))
    }
    if (problems.length > 0) return yield* Effect.fail(new InvalidConfiguration(problems))
    const raw = values as { readonly [K in keyof S]: Config.Success<S[K]> }
    const cross = crossChecks(raw)
    if (cross.length > 0) return yield* Effect.fail(new InvalidConfiguration(cross))
    return raw
  })

/** Reads and validates every setting; fails with every problem found, each naming its variable. */
export const loadSettings: Effect.Effect<AppSettings, InvalidConfiguration> = Effect.gen(function*() {
  const raw = yield* readSettings(settings, crossChecks)
  const { redisClusterNodes, ...rest } = raw
  return {
    ...rest,
    redisCluster: Option.flatMap(redisClusterNodes, (nodes) => {
      const target = RedisClusterNodes.parse(Redacted.value(nodes))
      return typeof target === "string" ? Option.none() : Option.some(target)
    }),
    jwtSecret: Option.getOrElse(raw.jwtSecret, () => Redacted.make(DEVELOPMENT_JWT_SECRET)),
    jwtSecretIsDevelopmentDefault: Option.isNone(raw.jwtSecret),
    serviceApiKeys: raw.serviceApiKeys.map((key) => Redacted.make(key)),
    passwordHashQueue: Option.getOrElse(
      raw.passwordHashQueue,
      () => defaultPasswordHashQueue(raw.bcryptCost, raw.requestTimeout)
    ),
    workerInProcess: Option.getOrElse(raw.workerInProcess, () => Option.isNone(raw.databaseUrl)),
    passwordResetUrl: Option.getOrElse(raw.passwordResetUrl, () => DEVELOPMENT_PASSWORD_RESET_URL)
  }
})

export const layer: Layer.Layer<AppConfig, InvalidConfiguration> = Layer.effect(AppConfig, loadSettings)

/**
 * Runs a settings loader over the given variables instead of the process environment, so tests
 * get the very defaults and checks of production (declared once, in `settings`).
 */
export const loadFrom = <A>(load: Effect.Effect<A, InvalidConfiguration>, env: Record<string, string>): Effect.Effect<A> =>
  load.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })), Effect.orDie)

/** What tests run with: loopback, a small pool, the cheapest bcrypt cost allowed, no rate limit, no in-process worker. */
const TEST_ENVIRONMENT = {
  NODE_ENV: "test",
  HOST: "127.0.0.1",
  DATABASE_POOL_MAX: "4",
  BCRYPT_COST: "10",
  RATE_LIMIT_PER_MINUTE: "0",
  WORKER_IN_PROCESS: "false"
}

/** For tests: the defaults of `settings` under `TEST_ENVIRONMENT` (any free port), overridden where given. */
export const layerTest = (overrides: Partial<AppSettings> = {}): Layer.Layer<AppConfig> =>
  Layer.effect(
    AppConfig,
    Effect.map(loadFrom(loadSettings, TEST_ENVIRONMENT), (settings) => ({ ...settings, port: 0, ...overrides }))
  )
