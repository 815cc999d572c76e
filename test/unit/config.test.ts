import { ConfigProvider, Duration, Effect, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { DEVELOPMENT_JWT_SECRET, loadSettings, parseSmtpUrl } from "../../src/config/AppConfig.ts"
import * as RedisClusterNodes from "../../src/config/RedisClusterNodes.ts"

const load = (env: Record<string, string>) =>
  Effect.runPromise(
    loadSettings.pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env)),
      Effect.result
    )
  )

const problemsOf = async (env: Record<string, string>) => {
  const result = await load(env)
  if (result._tag === "Success") throw new Error("expected the configuration to be refused")
  return result.failure.problems
}

const strongSecret = "k".repeat(48)

/** Everything production requires. */
const production = {
  NODE_ENV: "production",
  JWT_SECRET: strongSecret,
  SMTP_URL: "smtp://mailer:mail-secret@mail.example.com:587",
  MAIL_FROM: "Customify <no-reply@customify.app>",
  PASSWORD_RESET_URL: "https://dashboard.customify.app/reset-password"
}

describe("configuration", () => {
  it("starts on embedded defaults with nothing set", async () => {
    const result = await load({})
    if (result._tag === "Failure") throw result.failure
    const settings = result.success
    expect(settings.port).toBe(3000)
    expect(settings.nodeEnv).toBe("development")
    expect(Option.isNone(settings.databaseUrl)).toBe(true)
    expect(Option.isNone(settings.redisUrl)).toBe(true)
    expect(settings.migrateOnStart).toBe(true)
    expect(settings.logLevel).toBe("Info")
    expect(settings.corsOrigins).toEqual([])
    expect(Duration.toMillis(settings.healthCheckTimeout)).toBe(1000)
    expect(settings.jwtSecretIsDevelopmentDefault).toBe(true)
    expect(Redacted.value(settings.jwtSecret)).toBe(DEVELOPMENT_JWT_SECRET)
  })

  it("reads and parses every variable", async () => {
    const result = await load({
      PORT: "8080",
      DATABASE_URL: "postgres://app:pw@db.internal:5432/customify",
      REDIS_URL: "redis://cache.internal:6379/1",
      JWT_SECRET: strongSecret,
      MIGRATE_ON_START: "false",
      LOG_LEVEL: "Debug",
      CORS_ORIGINS: "https://shop.example.com, https://dashboard.customify.app",
      TRUSTED_PROXIES: "10.0.0.0/8,127.0.0.1",
      HEALTH_CHECK_TIMEOUT: "500 millis"
    })
    if (result._tag === "Failure") throw result.failure
    const settings = result.success
    expect(settings.port).toBe(8080)
    expect(settings.migrateOnStart).toBe(false)
    expect(settings.logLevel).toBe("Debug")
    expect(settings.corsOrigins).toEqual(["https://shop.example.com", "https://dashboard.customify.app"])
    expect(settings.trustedProxies).toEqual(["10.0.0.0/8", "127.0.0.1"])
    expect(Duration.toMillis(settings.healthCheckTimeout)).toBe(500)
    expect(settings.jwtSecretIsDevelopmentDefault).toBe(false)
  })

  it("keeps secrets redacted when printed", async () => {
    const result = await load({
      JWT_SECRET: strongSecret,
      DATABASE_URL: "postgres://app:topsecret@db/x",
      SMTP_URL: "smtp://mailer:topsecret@mail.example.com:587"
    })
    if (result._tag === "Failure") throw result.failure
    const printed = `${String(result.success.jwtSecret)} ${JSON.stringify(result.success, (_, v) => typeof v === "bigint" ? String(v) : v)}`
    expect(printed).not.toContain(strongSecret)
    expect(printed).not.toContain("topsecret")
  })

  it("reads LOG_LEVEL in any case, as other tools spell it", async () => {
    for (const [spelling, level] of [["info", "Info"], ["INFO", "Info"], ["Info", "Info"], ["debug", "Debug"], [" warn ", "Warn"], ["NONE", "None"], ["WARNING", "Warn"], ["off", "None"], ["silent", "None"]]) {
      const result = await load({ LOG_LEVEL: spelling! })
      if (result._tag === "Failure") throw result.failure
      expect(result.success.logLevel).toBe(level)
    }
    expect(await problemsOf({ LOG_LEVEL: "verbose" })).toEqual([expect.stringMatching(/^LOG_LEVEL:/)])
  })

  it("reports every bad variable at once, each by name", async () => {
    const problems = await problemsOf({ PORT: "eighty", LOG_LEVEL: "loud", MIGRATE_ON_START: "perhaps" })
    expect(problems).toHaveLength(3)
    expect(problems.some((p) => p.startsWith("PORT:"))).toBe(true)
    expect(problems.some((p) => p.startsWith("LOG_LEVEL:"))).toBe(true)
    expect(problems.some((p) => p.startsWith("MIGRATE_ON_START:"))).toBe(true)
  })

  it("refuses out-of-range ports, bad URLs, origins and proxies", async () => {
    expect((await problemsOf({ PORT: "70000" }))[0]).toMatch(/^PORT:/)
    expect(await problemsOf({ DATABASE_URL: "mysql://x" })).toEqual([expect.stringMatching(/^DATABASE_URL:/)])
    expect(await problemsOf({ REDIS_URL: "http://x" })).toEqual([expect.stringMatching(/^REDIS_URL:/)])
    expect(await problemsOf({ CORS_ORIGINS: "https://ok.example.com,*" })).toEqual([expect.stringMatching(/^CORS_ORIGINS:/)])
    expect(await problemsOf({ CORS_ORIGINS: "https://shop.example.com/path" })).toHaveLength(1)
    expect(await problemsOf({ TRUSTED_PROXIES: "10.0.0.0/33" })).toEqual([expect.stringMatching(/^TRUSTED_PROXIES:/)])
    expect(await problemsOf({ TRUSTED_PROXIES: "proxy.local" })).toHaveLength(1)
    expect(await problemsOf({ DATABASE_POOL_MAX: "0" })).toEqual([expect.stringMatching(/^DATABASE_POOL_MAX:/)])
  })

  it("refuses to start in production without a JWT secret or with the development one", async () => {
    const { JWT_SECRET: _secret, ...withoutSecret } = production
    expect(await problemsOf(withoutSecret)).toEqual([expect.stringMatching(/^JWT_SECRET: required/)])
    expect(await problemsOf({ ...production, JWT_SECRET: DEVELOPMENT_JWT_SECRET }))
      .toEqual([expect.stringMatching(/^JWT_SECRET:/)])
    const result = await load(production)
    expect(result._tag).toBe("Success")
  })

  it("refuses to start in production without SMTP_URL or PASSWORD_RESET_URL, naming each", async () => {
    const { SMTP_URL: _smtp, PASSWORD_RESET_URL: _reset, ...withoutMail } = production
    expect(await problemsOf(withoutMail)).toEqual([
      expect.stringMatching(/^SMTP_URL: required in production/),
      expect.stringMatching(/^PASSWORD_RESET_URL: required in production/)
    ])
    expect(await problemsOf({ NODE_ENV: "production" })).toEqual([
      expect.stringMatching(/^JWT_SECRET: required/),
      expect.stringMatching(/^SMTP_URL: required/),
      expect.stringMatching(/^PASSWORD_RESET_URL: required/)
    ])
  })

  it("reads the mail settings, with development defaults", async () => {
    const defaults = await load({})
    if (defaults._tag === "Failure") throw defaults.failure
    expect(Option.isNone(defaults.success.smtpUrl)).toBe(true)
    expect(defaults.success.mailFrom).toBe("Customify <no-reply@customify.app>")
    expect(defaults.success.passwordResetUrl).toBe("http://localhost:3000/reset-password")
    const result = await load(production)
    if (result._tag === "Failure") throw result.failure
    expect(Redacted.value(Option.getOrThrow(result.success.smtpUrl))).toBe(production.SMTP_URL)
    expect(result.success.mailFrom).toBe(production.MAIL_FROM)
    expect(result.success.passwordResetUrl).toBe(production.PASSWORD_RESET_URL)
  })

  it("refuses a PASSWORD_RESET_URL that is not an absolute http(s) URL the token can be appended to", async () => {
    for (const bad of ["dashboard.customify.app/reset", "/reset-password", "ftp://dashboard.customify.app/reset", "not a url",
      "https://dashboard.customify.app/reset?lang=en", "https://dashboard.customify.app/reset#top", "https://user:pw@dashboard.customify.app/reset"]) {
      expect(await problemsOf({ PASSWORD_RESET_URL: bad }), bad).toEqual([expect.stringMatching(/^PASSWORD_RESET_URL:/)])
    }
    expect(await problemsOf({ ...production, PASSWORD_RESET_URL: "http://dashboard.customify.app/reset-password" }))
      .toEqual([expect.stringMatching(/^PASSWORD_RESET_URL: must be https/)])
    const result = await load({ PASSWORD_RESET_URL: "http://127.0.0.1:5173/reset-password" })
    if (result._tag === "Failure") throw result.failure
    expect(result.success.passwordResetUrl).toBe("http://127.0.0.1:5173/reset-password")
  })

  it("refuses an SMTP_URL or MAIL_FROM it could not use", async () => {
    for (const bad of ["http://mail.example.com", "mail.example.com:587", "smtp://user@mail.example.com:587",
      "smtp://mail.example.com/path", "smtp://u:p@mail.example.com:587?secure=true", "smtp://u:%E0%A4%A@mail.example.com"]) {
      expect(await problemsOf({ SMTP_URL: bad }), bad).toEqual([expect.stringMatching(/^SMTP_URL:/)])
    }
    for (const good of ["smtp://mail.example.com:25", "smtps://u:p%40ss@mail.example.com", "smtp://[::1]:2525"]) {
      expect((await load({ SMTP_URL: good }))._tag, good).toBe("Success")
    }
    for (const bad of ["customify", "Customify <no-reply>", "a@b.example.com\r\nBcc: x@example.com", "<a@example.com"]) {
      expect(await problemsOf({ MAIL_FROM: bad }), bad).toEqual([expect.stringMatching(/^MAIL_FROM:/)])
    }
    expect((await load({ MAIL_FROM: "no-reply@customify.app" }))._tag).toBe("Success")
  })

  it("describes SMTP_URL by host and port only, and decodes its credentials", () => {
    const endpoint = parseSmtpUrl("smtp://mailer:p%40ss%2Fw%3Ard@mail.example.com:587")
    expect(endpoint?.description).toBe("smtp mail.example.com:587")
    expect(endpoint?.auth?.user).toBe("mailer")
    expect(Redacted.value(endpoint!.auth!.pass)).toBe("p@ss/w:rd")
    expect(String(endpoint!.auth!.pass)).not.toContain("p@ss")
    expect(parseSmtpUrl("smtps://u:p@smtp.example.com")).toMatchObject({ secure: true, port: 465, description: "smtps smtp.example.com:465" })
    expect(parseSmtpUrl("smtp://mail.example.com")).toMatchObject({ secure: false, port: 587, auth: undefined })
    expect(parseSmtpUrl("smtp://[::1]:2525")).toMatchObject({ host: "::1", description: "smtp [::1]:2525" })
  })

  it("bounds the auth settings", async () => {
    expect(await problemsOf({ BCRYPT_COST: "8" })).toEqual([expect.stringMatching(/^BCRYPT_COST:/)])
    expect(await problemsOf({ ACCESS_TOKEN_TTL: "2 hours" })).toEqual([expect.stringMatching(/^ACCESS_TOKEN_TTL:/)])
    expect(await problemsOf({ REFRESH_TOKEN_IDLE_TTL: "40 days" })).toEqual([expect.stringMatching(/^REFRESH_TOKEN_ABSOLUTE_TTL:/)])
    expect(await problemsOf({ SERVICE_API_KEYS: "short" })).toEqual([expect.stringMatching(/^SERVICE_API_KEYS:/)])
    const result = await load({ SERVICE_API_KEYS: `${"a".repeat(32)},${"b".repeat(40)}`, BCRYPT_COST: "13" })
    if (result._tag === "Failure") throw result.failure
    expect(result.success.serviceApiKeys.map(Redacted.value)).toEqual(["a".repeat(32), "b".repeat(40)])
    expect(result.success.bcryptCost).toBe(13)
    expect(String(result.success.serviceApiKeys[0])).not.toContain("aaaa")
  })

  it("bounds the password hashing queue, by default to what one thread clears in a third of the request timeout", async () => {
    expect(await problemsOf({ PASSWORD_HASH_QUEUE: "-1" })).toEqual([expect.stringMatching(/^PASSWORD_HASH_QUEUE:/)])
    const defaults = await load({})
    if (defaults._tag === "Failure") throw defaults.failure
    expect(defaults.success.passwordHashQueue).toBe(40)
    const slower = await load({ BCRYPT_COST: "14", REQUEST_TIMEOUT: "15 seconds" })
    if (slower._tag === "Failure") throw slower.failure
    expect(slower.success.passwordHashQueue).toBe(5)
    const set = await load({ PASSWORD_HASH_QUEUE: "0" })
    if (set._tag === "Failure") throw set.failure
    expect(set.success.passwordHashQueue).toBe(0)
  })

  it("keeps finished jobs 7 days by default, at least an hour", async () => {
    expect(await problemsOf({ JOB_RETENTION: "10 minutes" })).toEqual([expect.stringMatching(/^JOB_RETENTION:/)])
    const defaults = await load({})
    if (defaults._tag === "Failure") throw defaults.failure
    expect(Duration.toDays(defaults.success.jobRetention)).toBe(7)
    const set = await load({ JOB_RETENTION: "30 days" })
    if (set._tag === "Failure") throw set.failure
    expect(Duration.toDays(set.success.jobRetention)).toBe(30)
  })

  it("allows 30 render jobs per user per hour by default, 1 to 100000", async () => {
    const defaults = await load({})
    if (defaults._tag === "Failure") throw defaults.failure
    expect(defaults.success.renderJobsPerHour).toBe(30)
    const set = await load({ RENDER_JOBS_PER_HOUR: "5" })
    if (set._tag === "Failure") throw set.failure
    expect(set.success.renderJobsPerHour).toBe(5)
    for (const bad of ["0", "100001", "-3"]) {
      expect(await problemsOf({ RENDER_JOBS_PER_HOUR: bad })).toEqual(["RENDER_JOBS_PER_HOUR: must be between 1 and 100000"])
    }
    expect(await problemsOf({ RENDER_JOBS_PER_HOUR: "many" })).toEqual([expect.stringMatching(/^RENDER_JOBS_PER_HOUR:/)])
  })

  it("refuses a JWT secret shorter than 256 bits anywhere", async () => {
    expect(await problemsOf({ JWT_SECRET: "short" })).toEqual([expect.stringMatching(/^JWT_SECRET: must be at least 32/)])
  })

  describe("REDIS_CLUSTER_NODES", () => {
    it("reads seed nodes, and TLS and credentials from URL entries (shared by every node)", async () => {
      const plain = await load({ REDIS_CLUSTER_NODES: "10.0.0.1:7000, 10.0.0.2:7001,[::1]:7002" })
      if (plain._tag === "Failure") throw plain.failure
      const cluster = Option.getOrThrow(plain.success.redisCluster)
      expect(cluster.nodes).toEqual([{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7001 }, { host: "::1", port: 7002 }])
      expect([cluster.tls, cluster.username, cluster.password]).toEqual([false, undefined, undefined])
      expect(Option.isNone(plain.success.redisUrl)).toBe(true)

      const elastiCache = await load({
        REDIS_CLUSTER_NODES: "rediss://app:s%40cret@clustercfg.shop.abc123.use1.cache.amazonaws.com:6379"
      })
      if (elastiCache._tag === "Failure") throw elastiCache.failure
      const tls = Option.getOrThrow(elastiCache.success.redisCluster)
      expect(tls.nodes).toEqual([{ host: "clustercfg.shop.abc123.use1.cache.amazonaws.com", port: 6379 }])
      expect([tls.tls, tls.username, Redacted.value(tls.password!)]).toEqual([true, "app", "s@cret"])
      expect(RedisClusterNodes.describe(tls)).toBe("clustercfg.shop.abc123.use1.cache.amazonaws.com:6379 (tls)")
    })

    it("is refused together with REDIS_URL, naming both", async () => {
      expect(await problemsOf({ REDIS_URL: "redis://cache:6379/0", REDIS_CLUSTER_NODES: "cache-1:7000" })).toEqual([
        expect.stringMatching(/^REDIS_URL and REDIS_CLUSTER_NODES: set one, not both/)
      ])
    })

    it("refuses what is not a node list, without echoing credentials", async () => {
      for (const bad of [" , ", "http://x:1", "redis://host:7000/3", "host:99999", "user:pw@host:7000"]) {
        expect(await problemsOf({ REDIS_CLUSTER_NODES: bad }), bad).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES:/)])
      }
      const mixed = await problemsOf({ REDIS_CLUSTER_NODES: "rediss://a:pw-alpha@h1:7000,redis://a:pw-beta@h2:7000" })
      expect(mixed).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES: URL entries must share/)])
      expect(mixed.join()).not.toMatch(/pw-alpha|pw-beta/)
    })

    it("refuses odd spellings as a problem, never echoing a password nor throwing", async () => {
      for (const bad of ["default:hunter2@h:6379:1", "a:hunter2@h:x", "redis://u:hunter2%zz@h:7000", "h:0", "::1:7000"]) {
        const problems = await problemsOf({ REDIS_CLUSTER_NODES: bad })
        expect(problems, bad).toEqual([expect.stringMatching(/^REDIS_CLUSTER_NODES:/)])
        expect(problems.join(), bad).not.toMatch(/hunter2/)
      }
    })

    it("lists a node given twice once", () => {
      const target = RedisClusterNodes.parse("h:7000, h:7000,[::1]:7000,[0:0:0:0:0:0:0:1]:7000")
      if (typeof target === "string") throw new Error(target)
      expect(target.nodes).toEqual([{ host: "h", port: 7000 }, { host: "::1", port: 7000 }])
    })
  })
})
