import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { isOptionalSdk, recordPackages } from "../support/packages.ts"
import { startServer } from "../support/process.ts"
import { freePort } from "../support/servers.ts"

const logLines = (stdout: string) =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, any>)

describe("the server process", () => {
  const scope = Effect.runSync(Scope.make())
  let databaseUrl: string
  const redisUrl = realRedisUrl()
  let running: ChildProcess | undefined

  beforeAll(async () => {
    const serverUrl = realDatabaseUrl()
    if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
    databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  })
  afterAll(async () => {
    running?.kill("SIGKILL")
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  it("starts on real PostgreSQL and Redis, logs JSON lines, serves, and shuts down gracefully on SIGTERM", async () => {
    const port = await freePort()
    const server = startServer({ PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl! })
    running = server.child
    await server.listening
    const health = await fetch(`http://127.0.0.1:${port}/health`, { headers: { "x-request-id": "e2e-request-0001" } })
    expect(await health.json()).toEqual({ status: "healthy", database: "connected", redis: "connected" })
    for (const path of ["/openapi.json", "/docs", "/redoc"]) {
      expect((await fetch(`http://127.0.0.1:${port}${path}`)).status).toBe(200)
    }

    server.child.kill("SIGTERM")
    expect(await server.exited).toBe(0)

    const lines = logLines(server.output().stdout)
    const messages = lines.map((line) => line["message"])
    expect(messages).toContain(`database: postgres ${new URL(databaseUrl).host}${new URL(databaseUrl).pathname}`)
    expect(messages).toContainEqual(expect.stringMatching(/^cache: redis 127\.0\.0\.1:\d+\/0$/))
    const access = lines.find((line) => line["annotations"]?.["requestId"] === "e2e-request-0001")
    expect(access?.["annotations"]).toMatchObject({ method: "GET", route: "/health", status: 200 })
    expect(server.output().stdout).not.toContain("postgres://")
  })

  it("loads none of the optional SDKs when S3, SQS, OpenAI, Pinecone and the embedded database are not configured", async () => {
    const port = await freePort()
    const record = recordPackages()
    try {
      const server = startServer({ PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl!, ...record.env })
      running = server.child
      await server.listening
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
      server.child.kill("SIGTERM")
      expect(await server.exited).toBe(0)
      expect(record.packages()).toEqual(expect.arrayContaining(["effect", "@effect/sql-pg", "ioredis"]))
      expect(record.packages().filter(isOptionalSdk)).toEqual([])
    } finally {
      record.remove()
    }
  })

  it("starts with nothing configured, on the embedded database under DATA_DIR", async () => {
    const port = await freePort()
    const dataDir = mkdtempSync(join(tmpdir(), "customify-embedded-"))
    try {
      const server = startServer({ PORT: String(port), DATA_DIR: dataDir })
      running = server.child
      await server.listening
      const health = await fetch(`http://127.0.0.1:${port}/health`)
      expect(await health.json()).toEqual({ status: "healthy", database: "embedded", redis: "embedded" })

      const second = startServer({ PORT: String(await freePort()), DATA_DIR: dataDir })
      expect(await second.exited).not.toBe(0)
      expect(second.output().stdout + second.output().stderr).toContain("already in use")

      server.child.kill("SIGTERM")
      expect(await server.exited).toBe(0)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 90_000) // initdb of the embedded database: ~9 s on a quiet machine, over 30 s under load

  it("refuses to start on a bad configuration, naming every bad variable", async () => {
    const server = startServer({ PORT: "not-a-port", LOG_LEVEL: "chatty", NODE_ENV: "production" })
    expect(await server.exited).toBe(78)
    const { stderr } = server.output()
    expect(stderr).toContain("PORT:")
    expect(stderr).toContain("LOG_LEVEL:")
  })

  it("refuses to start in production without a JWT secret, an SMTP server or the reset page", async () => {
    const server = startServer({ NODE_ENV: "production", PORT: String(await freePort()) })
    expect(await server.exited).toBe(78)
    expect(server.output().stderr).toContain("JWT_SECRET: required in production")
    expect(server.output().stderr).toContain("SMTP_URL: required in production")
    expect(server.output().stderr).toContain("PASSWORD_RESET_URL: required in production")
  })
})
