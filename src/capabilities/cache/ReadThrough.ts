import { Clock, Duration, Effect, Option, Schema } from "effect"
import { type CacheError, CacheStore } from "./CacheStore.ts"

const OUTAGE_LOG_INTERVAL = Duration.seconds(30)
const SKIP_CHECKS = { disableChecks: true } as const

/**
 * Cache-aside over the shared cache for one kind of value: keys are namespaced and versioned
 * (`<namespace>:<version>:<id>`), values encoded by `schema`. A cache outage never fails a read:
 * it falls through to `load` and is logged once per interval, not per request.
 */
export const make = Effect.fnUntraced(function*<A, I>(options: {
  readonly namespace: string
  readonly version: number
  readonly schema: Schema.Codec<A, I>
  readonly timeToLive: Duration.Duration
}) {
  const store = yield* CacheStore
  const json = Schema.fromJsonString(Schema.toCodecJson(options.schema))
  // Entries hold values this service loaded from its own store: their structure and types are
  // checked both ways, their checks were run when they were written (a stored value that today's
  // checks refuse is served as it is, not turned into a failing read).
  const encodeChecked = Schema.encodeSync(json)
  const decodeChecked = Schema.decodeUnknownOption(json)
  const encode = (value: A) => encodeChecked(value, SKIP_CHECKS)
  const decode = (entry: string) => decodeChecked(entry, SKIP_CHECKS)
  const keyOf = (id: string) => `${options.namespace}:v${options.version}:${id}`
  let lastOutageLog = Number.NEGATIVE_INFINITY

  const degraded = (error: CacheError) =>
    Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      if (at - lastOutageLog < Duration.toMillis(OUTAGE_LOG_INTERVAL)) return
      lastOutageLog = at
      yield* Effect.logWarning(`cache: ${options.namespace} bypassed, cache unreachable`, error.cause)
    })

  return {
    /** The cached value, or `load`'s (then cached). `None` results are not cached. */
    get: <E, R>(id: string, load: Effect.Effect<Option.Option<A>, E, R>): Effect.Effect<Option.Option<A>, E, R> =>
      Effect.gen(function*() {
        const cached = yield* store.get(keyOf(id)).pipe(
          Effect.map(Option.flatMap(decode)),
          Effect.catch((error) => Effect.as(degraded(error), Option.none<A>()))
        )
        if (Option.isSome(cached)) return cached
        const loaded = yield* load
        if (Option.isSome(loaded)) {
          yield* store.set(keyOf(id), encode(loaded.value), options.timeToLive).pipe(Effect.catch(degraded))
        }
        return loaded
      }),
    /** Drops the cached value; call after every write. */
    invalidate: (id: string): Effect.Effect<void> => store.delete(keyOf(id)).pipe(Effect.catch(degraded))
  }
})
