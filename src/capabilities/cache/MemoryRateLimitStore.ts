import { Duration, Effect, Layer } from "effect"
import { RateLimiter } from "effect/persistence"

/** Counters kept at most; beyond, the least recently counted go (their clients start afresh). */
export const DEFAULT_MAX_ENTRIES = 100_000

/**
 * Keys of per-address counters (the gateway's rate limit): the only ones evicted while live, as
 * anyone can make new ones. Other counters (a user's hourly AI budget) are bounded by the users
 * there are and only go once their window passed, so other clients' traffic cannot reset them.
 */
export const PER_ADDRESS_PREFIX = "ip:"
const evictable = (key: string) => key.startsWith(PER_ADDRESS_PREFIX)

/**
 * Effect's RateLimiter store in process memory, for embedded defaults and the fallback while
 * Redis is unreachable, with its fixed-window counters bounded: Effect's own memory store keeps
 * one entry for every key it ever saw (one per client address here), so requests from ever new
 * addresses would grow the heap without end. Here, whenever a new key arrives, the least
 * recently counted entries are dropped while they are expired, and per-address ones also while
 * `maxEntries` are held.
 * Token buckets and adaptive limits, which this service does not use, stay Effect's.
 */
export const make = (maxEntries: number = DEFAULT_MAX_ENTRIES) =>
  Effect.gen(function*() {
    const inner = yield* Effect.service(RateLimiter.RateLimiterStore).pipe(Effect.provide(RateLimiter.layerStoreMemory))
    // Insertion order is recency order: a counted key is moved to the end.
    const counters = new Map<string, { count: number; expiresAt: number }>()
    const makeRoom = (now: number) => {
      for (const [key, counter] of counters) {
        const full = counters.size >= maxEntries
        if (counter.expiresAt > now && !full) return
        if (counter.expiresAt <= now || evictable(key)) counters.delete(key)
      }
    }
    const store = RateLimiter.RateLimiterStore.of({
      ...inner,
      // The same contract as Effect's memory store: `[count, ttl]`, the window sliding by
      // `refillRate` for every token counted.
      fixedWindow: (options) =>
        Effect.clockWith((clock) =>
          Effect.sync(() => {
            const now = clock.currentTimeMillisUnsafe()
            let counter = counters.get(options.key)
            if (counter === undefined) makeRoom(now)
            if (counter === undefined || counter.expiresAt <= now) counter = { count: 0, expiresAt: now }
            counters.delete(options.key)
            counters.set(options.key, counter)
            if (options.limit !== undefined && counter.count + options.tokens > options.limit) {
              return [counter.count + options.tokens, counter.expiresAt - now] as const
            }
            counter.count += options.tokens
            counter.expiresAt += Duration.toMillis(options.refillRate) * options.tokens
            return [counter.count, counter.expiresAt - now] as const
          })
        )
    })
    return { store, size: () => counters.size }
  })

export const layer = (maxEntries: number = DEFAULT_MAX_ENTRIES): Layer.Layer<RateLimiter.RateLimiterStore> =>
  Layer.effect(RateLimiter.RateLimiterStore, Effect.map(make(maxEntries), ({ store }) => store))
