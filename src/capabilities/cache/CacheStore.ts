import { createHash } from "node:crypto"
import { Clock, Context, Data, Duration, Effect, Layer, Option } from "effect"
import { RateLimiter, Redis } from "effect/persistence"
import { AppConfig } from "../../config/AppConfig.ts"
import * as RedisClusterNodes from "../../config/RedisClusterNodes.ts"
import * as MemoryRateLimitStore from "./MemoryRateLimitStore.ts"
import * as RedisClient from "./RedisClient.ts"

export class CacheError extends Data.TaggedError("CacheError")<{ readonly cause: unknown }> {}

/**
 * The shared key-value store (sessions, caches, counters) that every API instance sees:
 * Redis when configured, process memory otherwise. Callers treat `CacheError` as "degrade":
 * the cache is important, never critical.
 */
export class CacheStore extends Context.Service<CacheStore, {
  readonly kind: "redis" | "memory"
  /** For the start-up log, e.g. `redis 127.0.0.1:6379/0`; never contains credentials. */
  readonly description: string
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, CacheError>
  readonly set: (key: string, value: string, ttl: Duration.Duration) => Effect.Effect<void, CacheError>
  readonly delete: (key: string) => Effect.Effect<void, CacheError>
  /** Adds one to a counter, starting its `ttl` when it is created; returns the new count. */
  readonly increment: (key: string, ttl: Duration.Duration) => Effect.Effect<number, CacheError>
  /** How long `key` still lives; `None` when it does not exist. */
  readonly timeToLive: (key: string) => Effect.Effect<Option.Option<Duration.Duration>, CacheError>
  /** Sets `key` only if it does not exist (never overwrites); answers whether it did. */
  readonly setIfAbsent: (key: string, value: string, ttl: Duration.Duration) => Effect.Effect<boolean, CacheError>
  /**
   * Sets `key` if it does not exist; otherwise leaves it and answers what it holds. One atomic
   * step: `None` means this call set it.
   */
  readonly setIfAbsentOrGet: (key: string, value: string, ttl: Duration.Duration) => Effect.Effect<Option.Option<string>, CacheError>
  /** Sets `key` only while it holds exactly `expected` (compare and set); answers whether it did. */
  readonly setIfEquals: (key: string, expected: string, value: string, ttl: Duration.Duration) => Effect.Effect<boolean, CacheError>
  readonly ping: Effect.Effect<void, CacheError>
}>()("customify/capabilities/cache/CacheStore") {}

const ttlMillis = (ttl: Duration.Duration) => String(Math.max(1, Math.ceil(Duration.toMillis(ttl))))

/** Over Effect's `Redis.Redis` service, so it shares the connection with Effect's Redis-backed stores. */
export const layerRedisService = (description: string): Layer.Layer<CacheStore, never, Redis.Redis> =>
  Layer.effect(CacheStore, Effect.gen(function*() {
    const redis = yield* Redis.Redis
    const fail = Effect.mapError((cause: Redis.RedisError) => new CacheError({ cause }))
    // One round trip each, and atomic: the expiry is never lost between two commands.
    const incrementScript = redis.eval(Redis.script(
      (key: string, ttl: string) => [key, ttl],
      {
        lua: `local n = redis.call("INCR", KEYS[1])
if n == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return n`,
        numberOfKeys: 1
      }
    ).withReturnType<number>())
    const setIfAbsentOrGetScript = redis.eval(Redis.script(
      (key: string, value: string, ttl: string) => [key, value, ttl],
      {
        lua: `local current = redis.call("GET", KEYS[1])
if current then return current end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return false`,
        numberOfKeys: 1
      }
    ).withReturnType<string | null>())
    const setIfEqualsScript = redis.eval(Redis.script(
      (key: string, expected: string, value: string, ttl: string) => [key, expected, value, ttl],
      {
        lua: `if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
  return 1
end
return 0`,
        numberOfKeys: 1
      }
    ).withReturnType<number>())
    return CacheStore.of({
      kind: "redis",
      description,
      get: (key) => redis.send<string | null>("GET", key).pipe(Effect.map(Option.fromNullishOr), fail),
      set: (key, value, ttl) => redis.send("SET", key, value, "PX", ttlMillis(ttl)).pipe(Effect.asVoid, fail),
      delete: (key) => redis.send("DEL", key).pipe(Effect.asVoid, fail),
      increment: (key, ttl) => incrementScript(key, ttlMillis(ttl)).pipe(Effect.map(Number), fail),
      timeToLive: (key) =>
        redis.send<number>("PTTL", key).pipe(
          Effect.map((ms) => ms >= 0 ? Option.some(Duration.millis(ms)) : Option.none()),
          fail
        ),
      setIfAbsent: (key, value, ttl) =>
        redis.send<string | null>("SET", key, value, "PX", ttlMillis(ttl), "NX").pipe(Effect.map((reply) => reply === "OK"), fail),
      setIfAbsentOrGet: (key, value, ttl) =>
        setIfAbsentOrGetScript(key, value, ttlMillis(ttl)).pipe(Effect.map(Option.fromNullishOr), fail),
      setIfEquals: (key, expected, value, ttl) =>
        setIfEqualsScript(key, expected, value, ttlMillis(ttl)).pipe(Effect.map((reply) => Number(reply) === 1), fail),
      ping: redis.send("PING").pipe(Effect.asVoid, fail)
    })
  }))

/**
 * Effect's Redis-backed rate limiter store, cluster-safe. Its token bucket script takes two
 * keys, `<prefix><key>` and `<prefix><key>:refill`, which a cluster would refuse (CROSSSLOT) as
 * they hash to different slots: the key is given to it as a hash tag, `{<key>}`, so both share
 * one slot. Fixed windows (what this service counts with) and adaptive limits take one key and
 * keep their names, so switching to this store renames no live counter.
 */
export const layerRateLimiterStoreRedis: Layer.Layer<RateLimiter.RateLimiterStore, never, Redis.Redis> = Layer.effect(
  RateLimiter.RateLimiterStore,
  Effect.map(RateLimiter.makeStoreRedis({ prefix: "ratelimit:v1:" }), (store) =>
    RateLimiter.RateLimiterStore.of({
      ...store,
      tokenBucket: (options) => store.tokenBucket({ ...options, key: hashTag(options.key) })
    }))
)

/**
 * `{key}`: Redis Cluster places every key containing it in the slot of `key` alone. Redis takes
 * the text up to the first `}` as the tag and ignores an empty one (the whole key is hashed
 * then): a key that is empty or holds a `}` is tagged by its digest instead, followed by itself.
 */
export const hashTag = (key: string): string =>
  key !== "" && !key.includes("}") ? `{${key}}` : `{${createHash("sha256").update(key).digest("hex")}}${key}`

const layerOn = (
  description: string,
  client: Layer.Layer<Redis.Redis>
): Layer.Layer<CacheStore | RateLimiter.RateLimiterStore | Redis.Redis> =>
  Layer.merge(layerRedisService(description), layerRateLimiterStoreRedis).pipe(Layer.provideMerge(client))

/**
 * Redis at `url`, with Effect's Redis-backed rate limiter store on the same connection; also
 * exposes `Redis.Redis` for Effect's other Redis-backed stores.
 */
export const layerRedis = (
  url: RedisClient.RedisClientOptions["url"]
): Layer.Layer<CacheStore | RateLimiter.RateLimiterStore | Redis.Redis> =>
  layerOn(`redis ${RedisClient.describeUrl(url)}`, RedisClient.layer({ url }))

/** The same on a Redis Cluster (REDIS_CLUSTER_NODES). */
export const layerRedisCluster = (
  cluster: RedisClusterNodes.RedisClusterTarget
): Layer.Layer<CacheStore | RateLimiter.RateLimiterStore | Redis.Redis> =>
  layerOn(`redis cluster ${RedisClusterNodes.describe(cluster)}`, RedisClient.layerCluster({ cluster }))

/** Process memory, with expiry read from Effect's `Clock` (tests move it with `TestClock`). */
/** Keys the memory store holds at most (embedded defaults): every miss writes a claim marker. */
export const MEMORY_MAX_ENTRIES = 100_000

export const layerMemory: Layer.Layer<CacheStore> = Layer.sync(CacheStore, () => {
  const entries = new Map<string, { readonly value: string; readonly expiresAt: number }>()
  /**
   * Writes move a key to the end, so the oldest writes are first: before a new key goes in,
   * expired entries at the front are dropped, and the oldest live ones too while the store is
   * full. Dropping an entry is always safe for a cache (a claim or tombstone that goes makes
   * the compare-and-set of the read that saw it fail; the next read loads afresh).
   */
  const put = (key: string, value: string, expiresAt: number, now: number) => {
    if (!entries.delete(key)) {
      for (const [oldest, entry] of entries) {
        if (entry.expiresAt > now && entries.size < MEMORY_MAX_ENTRIES) break
        entries.delete(oldest)
      }
    }
    entries.set(key, { value, expiresAt })
  }
  const alive = (key: string, now: number) => {
    const entry = entries.get(key)
    if (entry === undefined) return Option.none()
    if (entry.expiresAt <= now) {
      entries.delete(key)
      return Option.none()
    }
    return Option.some(entry.value)
  }
  return CacheStore.of({
    kind: "memory",
    description: "memory (this process only)",
    get: (key) => Effect.map(Clock.currentTimeMillis, (now) => alive(key, now)),
    set: (key, value, ttl) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        put(key, value, now + Duration.toMillis(ttl), now)
      }),
    delete: (key) => Effect.sync(() => void entries.delete(key)),
    increment: (key, ttl) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const current = alive(key, now)
        const count = Option.isSome(current) ? Number(current.value) + 1 : 1
        const expiresAt = Option.isSome(current) ? entries.get(key)!.expiresAt : now + Duration.toMillis(ttl)
        put(key, String(count), expiresAt, now)
        return count
      }),
    timeToLive: (key) =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        Option.map(alive(key, now), () => Duration.millis(entries.get(key)!.expiresAt - now))),
    setIfAbsent: (key, value, ttl) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        if (Option.isSome(alive(key, now))) return false
        put(key, value, now + Duration.toMillis(ttl), now)
        return true
      }),
    setIfAbsentOrGet: (key, value, ttl) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const current = alive(key, now)
        if (Option.isNone(current)) put(key, value, now + Duration.toMillis(ttl), now)
        return current
      }),
    setIfEquals: (key, expected, value, ttl) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const current = alive(key, now)
        if (Option.isNone(current) || current.value !== expected) return false
        put(key, value, now + Duration.toMillis(ttl), now)
        return true
      }),
    ping: Effect.void
  })
})

/**
 * Redis when `REDIS_URL` is set, a Redis Cluster when `REDIS_CLUSTER_NODES` is (never both),
 * memory otherwise (cache and rate limiter store alike).
 */
export const layer: Layer.Layer<CacheStore | RateLimiter.RateLimiterStore, never, AppConfig> = Layer.unwrap(
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (Option.isSome(config.redisCluster)) return layerRedisCluster(config.redisCluster.value)
    return Option.match(config.redisUrl, {
      onSome: (url): Layer.Layer<CacheStore | RateLimiter.RateLimiterStore> => layerRedis(url),
      onNone: () => Layer.merge(layerMemory, MemoryRateLimitStore.layer(config.rateLimitMemoryEntries))
    })
  })
)
