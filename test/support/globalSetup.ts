import type { TestProject } from "vitest/node"
import { findPostgresBin, findRedisServer, type RunningServer, startPostgres, startRedis, startRedisCluster } from "./servers.ts"

declare module "vitest" {
  export interface ProvidedContext {
    /** A real PostgreSQL server (its `customify_test` database); undefined: tests fall back to PGlite. */
    databaseUrl: string | undefined
    /** A real Redis; undefined: Redis tests cannot run (a failure under CI). */
    redisUrl: string | undefined
    /** A real three-master Redis Cluster, as REDIS_CLUSTER_NODES; undefined: cluster tests cannot run. */
    redisClusterNodes: string | undefined
  }
}

/**
 * Real PostgreSQL, Redis and a Redis Cluster for the whole run: DATABASE_URL / REDIS_URL /
 * REDIS_CLUSTER_NODES when set, otherwise
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

  let redisClusterNodes = process.env["REDIS_CLUSTER_NODES"]
  if (redisClusterNodes === undefined) {
    const binary = findRedisServer()
    try {
      if (binary === undefined) throw new Error("no redis-server binary")
      const cluster = await startRedisCluster(binary)
      started.push({ url: cluster.nodes, stop: cluster.stop })
      redisClusterNodes = cluster.nodes
    } catch (error) {
      if (ci) throw new Error(`CI: no Redis Cluster (set REDIS_CLUSTER_NODES or install redis-server): ${String(error)}`)
    }
  }

  project.provide("databaseUrl", databaseUrl)
  project.provide("redisUrl", redisUrl)
  project.provide("redisClusterNodes", redisClusterNodes)
  return () => {
    for (const server of started.reverse()) server.stop()
  }
}
