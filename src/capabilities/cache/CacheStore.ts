import { Clock, Context, Data, Duration, Effect, Layer, Option } from "effect"
import { Redis } from "effect/persistence"
import { AppConfig } from "../../config/AppConfig.ts"
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
  readonly ping: Effect.Effect<void, CacheError>
}>()("customify/capabilities/cache/CacheStore") {}

const ttlMillis = (ttl: Duration.Duration) => String(Math.max(1, Math.ceil(Duration.toMillis(ttl))))

/** Over Effect's `Redis.Redis` service, so it shares the connection with Effect's Redis-backed stores. */
export const layerRedisService = (description: string): Layer.Layer<CacheStore, never, Redis.Redis> =>
  Layer.effect(CacheStore, Effect.gen(function*() {
    const redis = yield* Redis.Redis
    const fail = Effect.mapError((cause: Redis.RedisError) => new CacheError({ cause }))
    return CacheStore.of({
      kind: "redis",
      description,
      get: (key) => redis.send<string | null>("GET", key).pipe(Effect.map(Option.fromNullishOr), fail),
      set: (key, value, ttl) => redis.send("SET", key, value, "PX", ttlMillis(ttl)).pipe(Effect.asVoid, fail),
      delete: (key) => redis.send("DEL", key).pipe(Effect.asVoid, fail),
      ping: redis.send("PING").pipe(Effect.asVoid, fail)
    })
  }))

/** Redis at `url`; also exposes `Redis.Redis` for Effect's Redis-backed stores. */
export const layerRedis = (url: RedisClient.RedisClientOptions["url"]): Layer.Layer<CacheStore | Redis.Redis> =>
  layerRedisService(`redis ${RedisClient.describeUrl(url)}`).pipe(Layer.provideMerge(RedisClient.layer({ url })))

/** Process memory, with expiry read from Effect's `Clock` (tests move it with `TestClock`). */
export const layerMemory: Layer.Layer<CacheStore> = Layer.sync(CacheStore, () => {
  const entries = new Map<string, { readonly value: string; readonly expiresAt: number }>()
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
        entries.set(key, { value, expiresAt: now + Duration.toMillis(ttl) })
      }),
    delete: (key) => Effect.sync(() => void entries.delete(key)),
    ping: Effect.void
  })
})

/** Redis when `REDIS_URL` is set, memory otherwise. */
export const layer: Layer.Layer<CacheStore, never, AppConfig> = Layer.unwrap(Effect.gen(function*() {
  const config = yield* AppConfig
  return Option.match(config.redisUrl, {
    onSome: (url) => layerRedis(url) as Layer.Layer<CacheStore>,
    onNone: () => layerMemory
  })
}))
