import { randomUUID } from "node:crypto"
import { Cluster, type Redis as Node } from "ioredis"
import { Duration, Effect, Layer, Option } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { CacheStore, layerRedisCluster } from "../../src/capabilities/cache/CacheStore.ts"
import { clusterTarget, realRedisClusterNodes } from "../support/redisTopology.ts"

/**
 * A slot moving between masters while the API runs (ElastiCache online resharding): during the
 * migration a node answers ASK for the keys already moved, after it MOVED. Reads, writes and
 * scripts (EVALSHA on a node that never saw the script) must follow both, on the API's client.
 */
const nodes = realRedisClusterNodes()
let raw: Cluster
beforeAll(async () => {
  if (nodes === undefined) throw new Error("needs a Redis Cluster (see test/support/globalSetup.ts)")
  raw = new Cluster(clusterTarget(nodes).nodes.map((node) => ({ ...node })))
  await raw.ping()
})
afterAll(() => raw?.disconnect())

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

  const result = await Effect.runPromise(Effect.gen(function*() {
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
  }).pipe(Effect.provide(Layer.fresh(layerRedisCluster(clusterTarget(nodes!))))))

  expect(result.during).toEqual([Option.some("before"), Option.some("here"), 2, true])
  expect(result.after).toEqual([Option.some("during"), Option.some("here"), 3])
}, 30_000)
