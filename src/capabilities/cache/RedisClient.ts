import { createHash } from "node:crypto"
import { Cluster, Redis as IORedis, type RedisOptions } from "ioredis"
import { Duration, Effect, Layer, Redacted } from "effect"
import { Redis } from "effect/persistence"
import * as RedisClusterNodes from "../../config/RedisClusterNodes.ts"

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
const clientOptions = (commandTimeout: Duration.Input | undefined): Omit<RedisOptions, "replyMapping"> => ({
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  // Commands issued in the same tick (concurrent requests' cache reads) share one socket write.
  enableAutoPipelining: true,
  connectTimeout: 1_000,
  commandTimeout: Duration.toMillis(Duration.fromInputUnsafe(commandTimeout ?? "2 seconds")),
  retryStrategy: (attempt) => Math.min(attempt * 200, 2_000)
})

export interface RedisClusterOptions {
  readonly cluster: RedisClusterNodes.RedisClusterTarget
  readonly commandTimeout?: Duration.Input
}

/**
 * The same behaviour on a cluster: no offline queue at the cluster level (a command for a node
 * that is gone waits at most the command timeout), reconnecting in the background, slots
 * learned from the seed nodes. With TLS, node addresses are passed on unresolved, as ElastiCache
 * needs: its certificates name the hostnames, not the addresses they resolve to.
 */
const makeCluster = (
  options: RedisClusterOptions,
  overrides: { readonly lazyConnect?: boolean; readonly enableOfflineQueue?: boolean } = {}
) => {
  const { enableOfflineQueue: _queue, retryStrategy: _retry, ...perNode } = clientOptions(options.commandTimeout)
  const { password, tls, username } = options.cluster
  return new Cluster(options.cluster.nodes.map((node) => ({ ...node })), {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
    redisOptions: {
      ...perNode,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password: Redacted.value(password) }),
      ...(tls ? { tls: {} } : {})
    },
    ...overrides
  })
}

const toRedisError = (cause: unknown) => new Redis.RedisError({ cause })

type Client = IORedis | Cluster
type Send = <A = unknown>(command: string, ...args: ReadonlyArray<string>) => Effect.Effect<A, Redis.RedisError>

/**
 * Scripts by their SHA1, computed here instead of by `SCRIPT LOAD`: on a cluster that command
 * reaches one node only, and any node (a new one, a promoted replica) may lack a script. An
 * `EVALSHA` that meets NOSCRIPT is retried once as `EVAL`, which also caches it on that node.
 */
const withScripts = () => {
  const scripts = new Map<string, string>()
  return (send: Send): Send => <A>(command: string, ...args: ReadonlyArray<string>): Effect.Effect<A, Redis.RedisError> => {
    const name = command.toUpperCase()
    if (name === "SCRIPT" && args[0]?.toUpperCase() === "LOAD" && args[1] !== undefined) {
      const sha = createHash("sha1").update(args[1]).digest("hex")
      scripts.set(sha, args[1])
      return Effect.succeed(sha as A)
    }
    if (name !== "EVALSHA") return send<A>(command, ...args)
    const [sha = "", ...rest] = args
    return send<A>(command, ...args).pipe(
      Effect.catchIf(
        (error) => String(error.cause).includes("NOSCRIPT") && scripts.has(sha),
        () => send<A>("EVAL", scripts.get(sha)!, ...rest)
      )
    )
  }
}

/** One node: every command on its connection. */
const callNode = (connection: Client, command: string, args: ReadonlyArray<string>) => connection.call(command, ...args)

/**
 * Every master of the slot map answers PING. ioredis drops a lost node's connection from
 * `nodes()`, so a master of the slot map without one is down too.
 */
const pingMasters = async (cluster: Cluster) => {
  const masters = cluster.nodes("master")
  const connected = new Set(masters.map((node) => `${node.options.host}:${node.options.port}`))
  const missing = [...new Set(cluster.slots.map((owners) => owners[0]))].find((key) => key !== undefined && !connected.has(key))
  if (missing !== undefined) throw new Error(`no connection to the master at ${missing}`)
  await Promise.all(masters.map((node) => node.ping()))
  return "PONG"
}

/**
 * A cluster: commands go where their key's slot is served; a bare PING (the health check) asks
 * every master, as any one of them down leaves a share of the keys unreachable.
 */
const callCluster = (connection: Client, command: string, args: ReadonlyArray<string>) =>
  command.toUpperCase() === "PING" && args.length === 0 && connection instanceof Cluster
    ? pingMasters(connection)
    : connection.call(command, ...args)

const fromClient = (
  where: string,
  call: typeof callNode,
  client: Client,
  duplicate: (overrides: { readonly lazyConnect: true; readonly enableOfflineQueue?: boolean; readonly retryStrategy?: () => null }) => Client
) =>
  Effect.gen(function*() {
    yield* Effect.addFinalizer(() => Effect.sync(() => client.disconnect()))
    const runFork = Effect.runForkWith(yield* Effect.context<never>())
    let healthy = true
    const lost = (error: Error) => {
      if (!healthy) return
      healthy = false
      runFork(Effect.logWarning(`redis: connection to ${where} lost (${error.message}); running degraded`))
    }
    client.on("error", lost)
    // A cluster reports a lost node here, while it still serves the other nodes' slots.
    client.on("node error", lost)
    client.on("ready", () => {
      if (healthy) return
      healthy = true
      runFork(Effect.logInfo(`redis: reconnected to ${where}`))
    })
    yield* Effect.tryPromise({ try: () => client.connect(), catch: toRedisError }).pipe(
      Effect.catch(() => Effect.void)
    )

    const scripted = withScripts()
    const sendWith = (connection: Client): Send =>
      scripted(<A>(command: string, ...args: ReadonlyArray<string>) =>
        Effect.tryPromise({ try: () => call(connection, command, args) as Promise<A>, catch: toRedisError }))

    return yield* Redis.make({
      send: sendWith(client),
      connect: Effect.tryPromise({
        try: async () => {
          const connection = duplicate({ lazyConnect: true, retryStrategy: () => null })
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
              const subscriber = duplicate({ lazyConnect: true, enableOfflineQueue: true })
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
  })

/**
 * Effect's generic `Redis.Redis` service over ioredis, so Effect's Redis-backed RateLimiter,
 * PersistedQueue, CircuitBreaker and caches run on the same connection as our own code.
 * A Redis that is down at start-up is logged, not fatal.
 */
export const layer = (options: RedisClientOptions): Layer.Layer<Redis.Redis> =>
  Layer.effect(Redis.Redis, Effect.suspend(() => {
    const client = new IORedis(Redacted.value(options.url), clientOptions(options.commandTimeout))
    return fromClient(describeUrl(options.url), callNode, client, (overrides) => client.duplicate(overrides))
  }))

/**
 * The same service over a Redis Cluster (ElastiCache cluster mode): single-key commands go to
 * the node that serves their key's slot; multi-key commands and scripts must keep their keys
 * in one slot with a hash tag (docs/decisions/0022).
 */
export const layerCluster = (options: RedisClusterOptions): Layer.Layer<Redis.Redis> =>
  Layer.effect(Redis.Redis, Effect.suspend(() => {
    const client = makeCluster(options)
    return fromClient(
      `cluster ${RedisClusterNodes.describe(options.cluster)}`,
      callCluster,
      client,
      ({ lazyConnect, enableOfflineQueue = false }) => makeCluster(options, { lazyConnect, enableOfflineQueue })
    )
  }))
