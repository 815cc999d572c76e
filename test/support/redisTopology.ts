import { Layer, Redacted } from "effect"
import { inject } from "vitest"
import * as CacheStore from "../../src/capabilities/cache/CacheStore.ts"
import * as RedisClusterNodes from "../../src/config/RedisClusterNodes.ts"

/**
 * The two ways the API meets Redis: one node (REDIS_URL) and a Redis Cluster
 * (REDIS_CLUSTER_NODES), both started by test/support/globalSetup.ts. Suites whose guarantees
 * rest on Redis commands and scripts run once on each: `describe.each(redisTopologies())`.
 */
export interface RedisTopology {
  readonly name: "one node" | "cluster"
  /** Spread into `makeTestApp` options. */
  readonly redis: { readonly redisUrl?: string | undefined; readonly redisClusterNodes?: string | undefined }
}

export const realRedisClusterNodes = (): string | undefined => inject("redisClusterNodes")

export const redisTopologies = (): ReadonlyArray<RedisTopology> => [
  { name: "one node", redis: { redisUrl: inject("redisUrl") } },
  { name: "cluster", redis: { redisClusterNodes: realRedisClusterNodes() } }
]

/** Fails the test (never skips it) when the topology's server did not start. */
export const requireRedis = (topology: RedisTopology): void => {
  if (topology.redis.redisUrl === undefined && topology.redis.redisClusterNodes === undefined) {
    throw new Error(`needs a real Redis (${topology.name}; see test/support/globalSetup.ts)`)
  }
}

export const clusterTarget = (nodes: string): RedisClusterNodes.RedisClusterTarget => {
  const target = RedisClusterNodes.parse(nodes)
  if (typeof target === "string") throw new Error(`REDIS_CLUSTER_NODES: ${target}`)
  return target
}

/** A fresh connection's cache, rate limiter store and `Redis.Redis` on the topology. */
export const redisLayer = (topology: RedisTopology) => {
  requireRedis(topology)
  const { redisClusterNodes, redisUrl } = topology.redis
  return Layer.fresh(
    redisClusterNodes !== undefined
      ? CacheStore.layerRedisCluster(clusterTarget(redisClusterNodes))
      : CacheStore.layerRedis(Redacted.make(redisUrl!))
  )
}
