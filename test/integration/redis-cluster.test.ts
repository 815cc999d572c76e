import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tls from "node:tls"
import { Cluster, type Redis as Node } from "ioredis"
import { Duration, Effect, Layer, Option } from "effect"
import { RateLimiter, Redis } from "effect/persistence"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CacheStore, layerRedisCluster } from "../../src/capabilities/cache/CacheStore.ts"
import * as RedisClient from "../../src/capabilities/cache/RedisClient.ts"
import { clusterTarget, realRedisClusterNodes } from "../support/redisTopology.ts"
import { findRedisServer, freePort, startRedisCluster } from "../support/servers.ts"

/** The messages of an error and its reasons and causes, e.g. a store error caused by a Redis reply. */
const causes = (error: unknown): string => {
  const inner = error instanceof Object
    ? ("reason" in error ? error.reason : "cause" in error ? error.cause : undefined)
    : undefined
  return inner === undefined ? String(error) : `${String(error)} <- ${causes(inner)}`
}

/** What only a cluster can break: keys spread over nodes, CROSSSLOT, per-node script caches. */
describe("on a Redis Cluster", () => {
  const nodes = realRedisClusterNodes()
  let raw: Cluster
  beforeAll(async () => {
    if (nodes === undefined) throw new Error("needs a Redis Cluster (see test/support/globalSetup.ts)")
    raw = new Cluster(clusterTarget(nodes).nodes.map((node) => ({ ...node })))
    await raw.ping()
  })
  afterAll(() => raw?.disconnect())

  const run = <A, E>(program: Effect.Effect<A, E, CacheStore | RateLimiter.RateLimiterStore | Redis.Redis>) =>
    Effect.runPromise(program.pipe(Effect.provide(Layer.fresh(layerRedisCluster(clusterTarget(nodes!))))))

  it("is three masters that each serve some of the cache's keys", async () => {
    const prefix = `spread:${randomUUID()}:`
    await run(Effect.gen(function*() {
      const cache = yield* CacheStore
      yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) => cache.set(`${prefix}${i}`, "v", Duration.minutes(1)))
    }))
    const masters = raw.nodes("master")
    expect(masters).toHaveLength(3)
    const perNode = await Promise.all(masters.map(async (node) => (await node.keys(`${prefix}*`)).length))
    expect(perNode.every((count) => count > 0)).toBe(true)
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(30)
  })

  it("refuses a script over two keys of different slots (CROSSSLOT), which the hash tag avoids", async () => {
    const key = `ip:${randomUUID()}`
    await expect(raw.eval("return 1", 2, `ratelimit:v1:${key}`, `ratelimit:v1:${key}:refill`)).rejects.toThrow(/CROSSSLOT/)
    // Effect's own Redis store passes exactly those two keys to its token bucket script.
    const untagged = await run(Effect.gen(function*() {
      const store = yield* RateLimiter.makeStoreRedis({ prefix: "ratelimit:v1:" })
      return yield* store.tokenBucket({ key, tokens: 1, limit: 5, refillRate: Duration.seconds(1), allowOverflow: false }).pipe(Effect.result)
    }))
    expect(untagged._tag).toBe("Failure")
    expect(untagged._tag === "Failure" ? causes(untagged.failure) : "").toMatch(/CROSSSLOT|should belong to the same slot/)
    // Ours hash-tags the key: both keys in one slot, and the bucket counts.
    const remaining = await run(Effect.gen(function*() {
      const store = yield* RateLimiter.RateLimiterStore
      const options = { key, tokens: 1, limit: 2, refillRate: Duration.minutes(1), allowOverflow: false }
      return [yield* store.tokenBucket(options), yield* store.tokenBucket(options), yield* store.tokenBucket(options)]
    }))
    expect(remaining.map(([left]) => left)).toEqual([1, 0, -1])
  })

  it("runs scripts on every node, and again once a node's script cache was flushed (failover, new node)", async () => {
    // SCRIPT LOAD reaches one node only: a script loaded that way is unknown to the others.
    const keys = Array.from({ length: 30 }, (_, i) => `counter:${randomUUID()}:${i}`)
    const counts = await run(Effect.gen(function*() {
      const cache = yield* CacheStore
      const countAll = Effect.forEach(keys, (key) => cache.increment(key, Duration.minutes(1)))
      const first = yield* countAll
      yield* Effect.promise(() => Promise.all(raw.nodes("master").map((node) => node.script("FLUSH"))))
      return [first, yield* countAll]
    }))
    expect(counts).toEqual([keys.map(() => 1), keys.map(() => 2)])
  })

  it("fails fast, without hanging, when no node is reachable", async () => {
    const closed = clusterTarget(`127.0.0.1:${await freePort()},127.0.0.1:${await freePort()}`)
    const started = performance.now()
    const outcome = await Effect.runPromise(Effect.gen(function*() {
      const redis = yield* Redis.Redis
      return yield* redis.send("GET", "anything").pipe(Effect.result)
    }).pipe(Effect.provide(Layer.fresh(RedisClient.layerCluster({ cluster: closed })))))
    expect(outcome._tag).toBe("Failure")
    expect(performance.now() - started).toBeLessThan(3_000)
  })

  it("reports a lost master in its ping (health: degraded) and fails only that master's keys, fast", async () => {
    const own = await startRedisCluster(findRedisServer()!)
    try {
      const outcome = await Effect.runPromise(Effect.gen(function*() {
        const redis = yield* Redis.Redis
        const keys = Array.from({ length: 30 }, (_, i) => `outage:${i}`)
        yield* Effect.forEach(keys, (key) => redis.send("SET", key, "v"))
        const healthyPing = yield* redis.send("PING").pipe(Effect.result)
        own.killNode(0)
        yield* Effect.sleep(Duration.millis(200))
        const lostPing = yield* redis.send("PING").pipe(Effect.result)
        const started = performance.now()
        const reads = yield* Effect.forEach(keys, (key) => redis.send("GET", key).pipe(Effect.result), { concurrency: "unbounded" })
        return { healthyPing, lostPing, reads, elapsed: performance.now() - started }
      }).pipe(Effect.provide(Layer.fresh(RedisClient.layerCluster({ cluster: clusterTarget(own.nodes), commandTimeout: "500 millis" })))))
      expect(outcome.healthyPing._tag).toBe("Success")
      expect(outcome.lostPing._tag).toBe("Failure")
      const served = outcome.reads.filter((read) => read._tag === "Success").length
      expect(served).toBeGreaterThan(0)
      expect(served).toBeLessThan(30)
      expect(outcome.elapsed).toBeLessThan(2_000)
    } finally {
      own.stop()
    }
  })

  /** 30 keys (spread over the masters) written and read back, and a health ping, on `nodes`. */
  const roundTrip = (nodes: string) =>
    Effect.runPromise(Effect.gen(function*() {
      const cache = yield* CacheStore
      const keys = Array.from({ length: 30 }, (_, i) => `round-trip:${i}`)
      yield* Effect.forEach(keys, (key) => cache.set(key, key, Duration.minutes(1)))
      yield* cache.ping
      return yield* Effect.forEach(keys, (key) => cache.get(key))
    }).pipe(Effect.result, Effect.provide(Layer.fresh(layerRedisCluster(clusterTarget(nodes))))))

  it("authenticates to every node, found ones included, with the URL entries' credentials", async () => {
    const own = await startRedisCluster(findRedisServer()!, { password: "cluster-secret" })
    try {
      const [seed] = own.nodes.split(",")
      // One seed: the other two masters are learned from it and need the same password.
      expect((await roundTrip(`redis://:cluster-secret@${seed}`))._tag).toBe("Success")
      expect((await roundTrip(seed!))._tag).toBe("Failure")
    } finally {
      own.stop()
    }
  })

  it("speaks TLS to nodes announced by hostname and verifies their certificates (ElastiCache in-transit encryption)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "customify-redis-tls-"))
    const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")]
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"
    ], { stdio: "ignore" })
    const own = await startRedisCluster(findRedisServer()!, { tls: { cert, key } })
    // The test's CA is trusted as a public one would be: no option of the app turns checks off.
    const trusted = tls.getCACertificates("default")
    tls.setDefaultCACertificates([...trusted, readFileSync(cert, "utf8")])
    try {
      const [seed] = own.nodes.split(",")
      expect(seed).toMatch(/^localhost:/)
      expect((await roundTrip(`rediss://${seed}`))._tag).toBe("Success")
      expect((await roundTrip(seed!))._tag).toBe("Failure")
    } finally {
      tls.setDefaultCACertificates(trusted)
      own.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  /**
   * A slot moving between masters while the API runs (ElastiCache online resharding): during the
   * migration a node answers ASK for the keys already moved, after it MOVED. Reads, writes and
   * scripts (EVALSHA on a node that never saw the script) must follow both, on the API's client.
   */
  const nodeId = async (node: Node) => String(await node.call("CLUSTER", "MYID"))

  it("follows ASK during a slot's migration and MOVED after it, for reads, writes and scripts", async () => {
    const tag = randomUUID()
    const [moved, stays, counter] = [`a:{${tag}}:moved`, `a:{${tag}}:stays`, `a:{${tag}}:counter`]
    const slot = Number(await raw.call("CLUSTER", "KEYSLOT", moved))
    const masters = raw.nodes("master")
    const slotOwner = async (node: Node) =>
      ((await node.call("CLUSTER", "SLOTS")) as Array<[number, number, [string, number]]>)
        .some(([from, to, [, port]]) => from <= slot && slot <= to && port === node.options.port)
    const source = (await Promise.all(masters.map(async (node) => [node, await slotOwner(node)] as const))).find(([, owns]) => owns)![0]
    const target = masters.find((node) => node !== source)!
    const [sourceId, targetId] = [await nodeId(source), await nodeId(target)]

    const result = await run(Effect.gen(function*() {
      const cache = yield* CacheStore
      const ttl = Duration.minutes(1)
      yield* cache.set(moved, "before", ttl)
      yield* cache.set(stays, "here", ttl)
      yield* cache.increment(counter, ttl)

      // Migrating: `moved` and `counter` go to the target, `stays` not yet.
      yield* Effect.promise(async () => {
        await target.call("CLUSTER", "SETSLOT", String(slot), "IMPORTING", sourceId)
        await source.call("CLUSTER", "SETSLOT", String(slot), "MIGRATING", targetId)
        for (const key of [moved, counter]) await source.migrate(target.options.host!, target.options.port!, key, 0, 5_000)
        await target.script("FLUSH")
      })
      const during = [
        yield* cache.get(moved),
        yield* cache.get(stays),
        yield* cache.increment(counter, ttl),
        yield* cache.setIfEquals(moved, "before", "during", ttl)
      ]

      // Done: the slot is the target's, everywhere.
      yield* Effect.promise(async () => {
        await source.migrate(target.options.host!, target.options.port!, stays, 0, 5_000)
        for (const node of masters) await node.call("CLUSTER", "SETSLOT", String(slot), "NODE", targetId)
        await target.script("FLUSH")
      })
      const after = [yield* cache.get(moved), yield* cache.get(stays), yield* cache.increment(counter, ttl)]
      return { during, after }
    }))

    expect(result.during).toEqual([Option.some("before"), Option.some("here"), 2, true])
    expect(result.after).toEqual([Option.some("during"), Option.some("here"), 3])
  }, 30_000)
})
