import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { type Context, Deferred, Duration, Effect, Exit, Layer, Option, Redacted, Schema, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CacheError, CacheStore, layerMemory, layerRedis, layerRedisCluster } from "../../src/capabilities/cache/CacheStore.ts"
import * as ReadThrough from "../../src/capabilities/cache/ReadThrough.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { type ControllableRedis, sleep, startControllableRedis, waitFor } from "../support/faults.ts"
import { clusterTarget, realRedisClusterNodes } from "../support/redisTopology.ts"
import { findRedisServer } from "../support/servers.ts"

/**
 * ReadThrough never stores a row older than the last write (ADR 0016), proved by forcing the
 * interleaving that used to resurrect one: a read misses and loads the row from PostgreSQL, a
 * write commits and invalidates (on another instance), then the read stores what it loaded.
 * The load step waits on a latch, so the order is exact, not left to timing. Each scenario runs
 * on real Redis (two connections: two instances), one node and a cluster, and on the memory
 * store (one process).
 */
const scope = Effect.runSync(Scope.make())
let sqlContext: Context.Context<SqlClient.SqlClient>


const Item = Schema.Struct({ id: Schema.String, version: Schema.Number, name: Schema.String })
type Item = typeof Item.Type

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined || realRedisClusterNodes() === undefined) {
    throw new Error("needs real PostgreSQL, Redis and a Redis Cluster")
  }
  const url = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  sqlContext = await Effect.runPromise(Layer.buildWithScope(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 }), scope))
  await sql((sql) => sql`CREATE TABLE items (id uuid PRIMARY KEY, version integer NOT NULL, name text NOT NULL, deleted_at timestamptz)`)
}, 60_000)
afterAll(async () => {

  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const sql = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.flatMap(Effect.service(SqlClient.SqlClient), f).pipe(Effect.provideContext(sqlContext), Effect.orDie))

/** The row as a repository's `findLive` reads it: gone once soft-deleted. */
const loadItem = (id: string) =>
  Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) =>
    sql<Item>`SELECT id::text AS id, version, name FROM items WHERE id = ${id} AND deleted_at IS NULL`).pipe(
      Effect.map((rows) => Option.fromNullishOr(rows[0])),
      Effect.provideContext(sqlContext),
      Effect.orDie
    )

const insertItem = async () => {
  const id = randomUUID()
  await sql((sql) => sql`INSERT INTO items (id, version, name) VALUES (${id}, 1, 'v1')`)
  return id
}

/** A write as the use cases do it: commit, then invalidate through the writing instance. */
const update = async (writer: Instance, id: string) => {
  await sql((sql) => sql`UPDATE items SET version = version + 1, name = 'v' || (version + 1) WHERE id = ${id}`)
  await Effect.runPromise(writer.cache.invalidate(id))
}
const remove = async (writer: Instance, id: string) => {
  await sql((sql) => sql`UPDATE items SET deleted_at = now() WHERE id = ${id}`)
  await Effect.runPromise(writer.cache.invalidate(id))
}

interface Instance {
  readonly cache: ReadThrough.ReadThrough<Item>
  readonly store: CacheStore["Service"]
}

/** A ReadThrough over `store`, as one API instance builds it (60 s entries, like designs). */
const startInstance = async (store: Layer.Layer<CacheStore>, namespace: string): Promise<Instance> => {
  const context = await Effect.runPromise(Layer.buildWithScope(store, scope))
  const cache = await Effect.runPromise(
    ReadThrough.make({ namespace, version: 1, schema: Item, timeToLive: Duration.seconds(60) }).pipe(
      Effect.provideContext(context),
      Scope.provide(scope)
    )
  )
  return { cache, store: Effect.runSync(Effect.service(CacheStore).pipe(Effect.provideContext(context))) }
}

const read = (instance: Instance, id: string) => Effect.runPromise(instance.cache.get(id, loadItem(id)))

/**
 * A read whose load step stops once it has the row, until released: `loaded` resolves when the
 * row is in hand, `release` lets the read go on (to populate the cache), `answer` is its result.
 */
const slowRead = (instance: Instance, id: string) => {
  const loaded = Deferred.makeUnsafe<void>()
  const released = Deferred.makeUnsafe<void>()
  const load = loadItem(id).pipe(
    Effect.tap(() => Deferred.succeed(loaded, undefined)),
    Effect.tap(() => Deferred.await(released))
  )
  return {
    answer: Effect.runPromise(instance.cache.get(id, load)),
    loaded: Effect.runPromise(Deferred.await(loaded)),
    release: () => Effect.runSync(Deferred.succeed(released, undefined))
  }
}

interface Pair {
  readonly reader: Instance
  readonly writer: Instance
  readonly keyOf: (id: string) => string
}

type Backend = "redis" | "redis cluster" | "memory"

/** A fresh connection to the real Redis (one node or the cluster): another instance's. */
const connectionTo = (backend: Exclude<Backend, "memory">, redisUrl = realRedisUrl()!) =>
  Layer.fresh(backend === "redis cluster"
    ? layerRedisCluster(clusterTarget(realRedisClusterNodes()!))
    : layerRedis(Redacted.make(redisUrl)))

/** Two instances over one store: two Redis connections, or one process's memory. */
const instancesOn = async (backend: Backend, redisUrl = realRedisUrl()!): Promise<Pair> => {
  const namespace = `item-${randomUUID()}`
  const keyOf = (id: string) => `${namespace}:v1:${id}`
  if (backend === "memory") {
    const shared = Layer.succeed(CacheStore, Effect.runSync(Effect.service(CacheStore).pipe(Effect.provide(layerMemory))))
    return { reader: await startInstance(shared, namespace), writer: await startInstance(shared, namespace), keyOf }
  }
  return {
    reader: await startInstance(connectionTo(backend, redisUrl), namespace),
    writer: await startInstance(connectionTo(backend, redisUrl), namespace),
    keyOf
  }
}

/** What the key holds when the slow read looks: each path a miss can take. */
const startStates: Record<string, (pair: Pair, id: string) => Promise<void>> = {
  "an empty key": async () => {},
  "a key a write invalidated": async ({ writer }, id) => {
    await Effect.runPromise(writer.cache.invalidate(id))
  },
  "a key holding an entry this version cannot read": async ({ keyOf, writer }, id) => {
    await Effect.runPromise(writer.store.set(keyOf(id), JSON.stringify({ id, version: "one" }), Duration.seconds(60)))
  }
}

for (const backend of ["redis", "redis cluster", "memory"] as const) {
  describe(`a slow read racing a write (${backend})`, () => {
    for (const [state, prepare] of Object.entries(startStates)) {
      for (const write of ["delete", "update"] as const) {
        it(`${write}, ${state}: once the write returned, no read returns the old row`, async () => {
          const pair = await instancesOn(backend)
          const id = await insertItem()
          await prepare(pair, id)
          const slow = slowRead(pair.reader, id)
          await slow.loaded
          // The read holds version 1; the write commits and invalidates through the other instance.
          await (write === "delete" ? remove : update)(pair.writer, id)
          slow.release()
          // The read began before the write: it may answer the old row, but must not keep it.
          expect(Option.getOrThrow(await slow.answer).version).toBe(1)
          for (let i = 0; i < 3; i++) {
            for (const instance of [pair.reader, pair.writer]) {
              const now = await read(instance, id)
              if (write === "delete") expect(now).toEqual(Option.none())
              else expect(Option.getOrThrow(now)).toMatchObject({ version: 2, name: "v2" })
            }
          }
        })
      }
    }
  })
}

/** A store that fails every command while `cut` is set, as an instance cut off from Redis sees it. */
const partitionable = (inner: Layer.Layer<CacheStore>) => {
  const state = { cut: false }
  const layer = Layer.effect(CacheStore, Effect.gen(function*() {
    const store = yield* CacheStore
    const guard = <A>(effect: Effect.Effect<A, CacheError>) =>
      Effect.suspend(() => state.cut ? Effect.fail(new CacheError({ cause: "cut off" })) : effect)
    return CacheStore.of({
      ...store,
      get: (key) => guard(store.get(key)),
      set: (key, value, ttl) => guard(store.set(key, value, ttl)),
      delete: (key) => guard(store.delete(key)),
      setIfAbsentOrGet: (key, value, ttl) => guard(store.setIfAbsentOrGet(key, value, ttl)),
      setIfEquals: (key, expected, value, ttl) => guard(store.setIfEquals(key, expected, value, ttl))
    })
  })).pipe(Layer.provide(inner))
  return { layer, state }
}

for (const backend of ["redis", "redis cluster", "memory"] as const) {
  describe(`a write that cannot reach the cache (${backend})`, () => {
    it("is delivered once the cache is reachable again, and its own instance never reads the old row meanwhile", async () => {
      const namespace = `item-${randomUUID()}`
      const base = backend === "memory"
        ? Layer.succeed(CacheStore, Effect.runSync(Effect.service(CacheStore).pipe(Effect.provide(layerMemory))))
        : connectionTo(backend)
      const cutOff = partitionable(backend === "memory" ? base : connectionTo(backend))
      const reader = await startInstance(base, namespace)
      const writer = await startInstance(cutOff.layer, namespace)
      const id = await insertItem()
      expect(Option.getOrThrow(await read(reader, id)).version).toBe(1) // cached now, for 60 s
      cutOff.state.cut = true
      await update(writer, id) // commits; the tombstone cannot be written
      // The writing instance knows the cache missed a write: it reads the key from the store.
      expect(Option.getOrThrow(await read(writer, id)).version).toBe(2)
      // Another instance still reaches the cache and its old entry: nothing could tell it yet.
      expect(Option.getOrThrow(await read(reader, id)).version).toBe(1)
      cutOff.state.cut = false
      const healedAt = performance.now()
      await waitFor("the invalidation to be delivered", 3_000, async () =>
        Option.getOrThrow(await read(reader, id)).version === 2 ? true : undefined)
      expect(performance.now() - healedAt).toBeLessThan(Duration.toMillis(ReadThrough.RETRY_INTERVAL) * 4)
      for (const instance of [reader, writer]) expect(Option.getOrThrow(await read(instance, id)).version).toBe(2)
    })
  })

  describe(`reads and writes at random on two instances (${backend})`, () => {
    it("a read that starts after a write returned never answers an older row", async () => {
      const pair = await instancesOn(backend)
      const instances = [pair.reader, pair.writer]
      const id = await insertItem()
      let written = 1 // the version every read starting now must see, at least
      let writing = true
      const stale: Array<string> = []
      const jitter = () => Effect.sleep(Duration.millis(Math.floor(Math.random() * 4)))
      const readers = Array.from({ length: 4 }, async (_, r) => {
        let reads = 0
        while (writing || reads < 20) {
          await sleep(Math.random() * 2) // a cache hit in memory never waits: let the writer run
          const floor = written
          const instance = instances[(r + reads++) % 2]!
          const found = await Effect.runPromise(instance.cache.get(id, Effect.andThen(loadItem(id), (row) => Effect.as(jitter(), row))))
          const version = Option.getOrThrow(found).version
          if (version < floor) stale.push(`read ${r}.${reads} saw ${version} after ${floor} was written`)
        }
      })
      for (let i = 0; i < 40; i++) {
        await update(instances[i % 2]!, id)
        written = i + 2
        await Effect.runPromise(jitter())
      }
      writing = false
      await Promise.all(readers)
      expect(stale).toEqual([])
    })
  })
}

describe("Redis lost between a read's look and its store", () => {
  let redis: ControllableRedis | undefined
  afterAll(async () => {
    await redis?.stop()
  })

  it("a Redis that comes back empty takes no old row from a read that began before the write", async () => {
    const binary = findRedisServer()
    if (binary === undefined) throw new Error("needs a redis-server binary")
    redis = await startControllableRedis(binary)
    const pair = await instancesOn("redis", redis.url)
    const id = await insertItem()
    const slow = slowRead(pair.reader, id)
    await slow.loaded
    await redis.kill()
    await remove(pair.writer, id) // commits; the tombstone cannot be written
    await redis.restart()
    // The reader's connection is back before it stores: the store is attempted, and must be refused.
    await waitFor("the reader to reconnect", 10_000, async () =>
      Exit.isSuccess(await Effect.runPromiseExit(pair.reader.store.ping)) ? true : undefined)
    slow.release()
    expect(Option.getOrThrow(await slow.answer).version).toBe(1)
    const held = await Effect.runPromise(pair.reader.store.get(pair.keyOf(id)))
    expect(Option.filter(held, (value) => !value.startsWith("!")), "an entry was stored").toEqual(Option.none())
    for (const instance of [pair.reader, pair.writer]) expect(await read(instance, id)).toEqual(Option.none())
  })
})
