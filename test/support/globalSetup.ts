import type { TestProject } from "vitest/node"
import { findPostgresBin, findRedisServer, type RunningServer, startPostgres, startRedis } from "./servers.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** A real PostgreSQL server (its `customify_test` database); undefined: tests fall back to PGlite. */
    databaseUrl: string | undefined
    /** A real Redis; undefined: Redis tests cannot run (a failure under CI). */
    redisUrl: string | undefined
  }
}

/**
 * Real PostgreSQL and Redis for the whole run: DATABASE_URL / REDIS_URL when set, otherwise
 * throwaway servers started here when their binaries exist. Under CI a missing server is an
 * error, never a skip.
 */
export default async function setup(project: TestProject) {
  const started: Array<RunningServer> = []
  const ci = process.env["CI"] !== undefined && process.env["CI"] !== "" && process.env["CI"] !== "false"

  let databaseUrl = process.env["DATABASE_URL"]
  if (databaseUrl === undefined) {
    const bin = findPostgresBin()
    if (bin !== undefined) {
      const server = await startPostgres(bin)
      started.push(server)
      databaseUrl = server.url
    } else if (ci) {
      throw new Error("CI: no PostgreSQL (set DATABASE_URL or install the postgresql package)")
    }
  }

  let redisUrl = process.env["REDIS_URL"]
  if (redisUrl === undefined) {
    const binary = findRedisServer()
    if (binary !== undefined) {
      const server = await startRedis(binary)
      started.push(server)
      redisUrl = server.url
    } else if (ci) {
      throw new Error("CI: no Redis (set REDIS_URL or install the redis-server package)")
    }
  }

  project.provide("databaseUrl", databaseUrl)
  project.provide("redisUrl", redisUrl)
  return () => {
    for (const server of started.reverse()) server.stop()
  }
}
