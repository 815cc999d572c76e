import { Redis as IORedis, type RedisOptions } from "ioredis"
import { Duration, Effect, Layer, Redacted } from "effect"
import { Redis } from "effect/persistence"

export interface RedisClientOptions {
  readonly url: Redacted.Redacted
  /** How long a command may wait for its reply before it fails (the caller then degrades). */
  readonly commandTimeout?: Duration.Input
}

/** `redis://:secret@host:6379/0` → `host:6379/0`. */
export const describeUrl = (url: Redacted.Redacted): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}:${parsed.port || "6379"}${parsed.pathname === "/" ? "/0" : parsed.pathname}`
  } catch {
    return "(unparseable url)"
  }
}

/**
 * Commands fail at once while the connection is down (no offline queue) and the client keeps
 * reconnecting in the background, so an outage degrades callers instead of stalling them and the
 * process recovers without a restart.
 */
const clientOptions = (options: RedisClientOptions): Omit<RedisOptions, "replyMapping"> => ({
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // Commands issued in the same tick (concurrent requests' cache reads) share one socket write.
  enableAutoPipelining: true,
  connectTimeout: 1_000,
  commandTimeout: Duration.toMillis(Duration.fromInputUnsafe(options.commandTimeout ?? "2 seconds")),
  retryStrategy: (attempt) => Math.min(attempt * 200, 2_000)
})

const toRedisError = (cause: unknown) => new Redis.RedisError({ cause })

/**
 * Effect's generic `Redis.Redis` service over ioredis, so Effect's Redis-backed RateLimiter,
 * PersistedQueue, CircuitBreaker and caches run on the same connection as our own code.
 * A Redis that is down at start-up is logged, not fatal.
 */
export const layer = (options: RedisClientOptions): Layer.Layer<Redis.Redis> =>
  Layer.effect(Redis.Redis, Effect.gen(function*() {
    const where = describeUrl(options.url)
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => new IORedis(Redacted.value(options.url), clientOptions(options))),
      (client) => Effect.sync(() => client.disconnect())
    )
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    let healthy = true
    client.on("error", (error: Error) => {
      if (!healthy) return
      healthy = false
      runFork(Effect.logWarning(`redis: connection to ${where} lost (${error.message}); running degraded`))
    })
    client.on("ready", () => {
      if (healthy) return
      healthy = true
      runFork(Effect.logInfo(`redis: reconnected to ${where}`))
    })
    yield* Effect.tryPromise({ try: () => client.connect(), catch: toRedisError }).pipe(
      Effect.catch(() => Effect.void)
    )

    const sendWith = (connection: IORedis) =>
    <A = unknown>(command: string, ...args: ReadonlyArray<string>): Effect.Effect<A, Redis.RedisError> =>
      Effect.tryPromise({ try: () => connection.call(command, ...args) as Promise<A>, catch: toRedisError })

    return yield* Redis.make({
      send: sendWith(client),
      connect: Effect.tryPromise({
        try: async () => {
          const connection = client.duplicate({ lazyConnect: true, retryStrategy: () => null })
          connection.on("error", () => {})
          await connection.connect()
          return connection
        },
        catch: toRedisError
      }).pipe(Effect.map((connection) => ({
        send: sendWith(connection),
        close: Effect.sync(() => connection.disconnect())
      }))),
      subscribe: (channel, onMessage) =>
        Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              const subscriber = client.duplicate({ lazyConnect: true, enableOfflineQueue: true })
              subscriber.on("error", () => {})
              subscriber.on("message", (from: string, message: string) => onMessage({ channel: from, message }))
              await subscriber.connect()
              await subscriber.subscribe(channel)
              return subscriber
            },
            catch: toRedisError
          }),
          (subscriber) => Effect.sync(() => subscriber.disconnect())
        ).pipe(Effect.as(Effect.never))
    })
  }))
