import { ConfigProvider, Duration, Effect, Option, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { DEVELOPMENT_JWT_SECRET, loadSettings } from "../../src/config/AppConfig.ts"

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
    const result = await load({ JWT_SECRET: strongSecret, DATABASE_URL: "postgres://app:topsecret@db/x" })
    if (result._tag === "Failure") throw result.failure
    const printed = `${String(result.success.jwtSecret)} ${JSON.stringify(result.success, (_, v) => typeof v === "bigint" ? String(v) : v)}`
    expect(printed).not.toContain(strongSecret)
    expect(printed).not.toContain("topsecret")
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
    expect(await problemsOf({ NODE_ENV: "production" })).toEqual([expect.stringMatching(/^JWT_SECRET: required/)])
    expect(await problemsOf({ NODE_ENV: "production", JWT_SECRET: DEVELOPMENT_JWT_SECRET }))
      .toEqual([expect.stringMatching(/^JWT_SECRET:/)])
    const result = await load({ NODE_ENV: "production", JWT_SECRET: strongSecret })
    expect(result._tag).toBe("Success")
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

  it("refuses a JWT secret shorter than 256 bits anywhere", async () => {
    expect(await problemsOf({ JWT_SECRET: "short" })).toEqual([expect.stringMatching(/^JWT_SECRET: must be at least 32/)])
  })
})
