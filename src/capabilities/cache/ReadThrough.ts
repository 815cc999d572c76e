import { randomUUID } from "node:crypto"
import { Clock, Duration, Effect, FiberSet, Option, Schema, type Scope } from "effect"
import { CacheStore } from "./CacheStore.ts"
import { outageLog } from "./OutageLog.ts"

const SKIP_CHECKS = { disableChecks: true } as const

/**
 * How long a marker lives: a reader's claim (it may store what it loads only while its claim
 * is still there) and a write's tombstone. A load slower than this is served but not cached.
 */
export const MARKER_TTL = Duration.seconds(10)
/** How often an invalidation that could not reach the cache is tried again. */
export const RETRY_INTERVAL = Duration.millis(250)
/** Most invalidations one cache keeps retrying; beyond, the oldest are given up (and logged). */
const MAX_PENDING = 100_000

/**
 * Entries (the value's JSON, or a codec's encoding) never start with `!`; markers do, and carry a token no
 * other marker ever has: `!r:` a reader's claim, `!w:` a write's tombstone.
 */
const isMarker = (stored: string) => stored.startsWith("!")
const claimMarker = () => `!r:${randomUUID()}`
const tombstone = () => `!w:${randomUUID()}`

/**
 * How values are stored: `encode`'s output must never start with `!` (the markers' prefix);
 * `decode` answers `None` for an entry it cannot read (another format's), which a read replaces.
 */
export interface EntryCodec<A> {
  readonly encode: (value: A) => string
  readonly decode: (entry: string) => Option.Option<A>
}

/**
 * The value's JSON through `schema`. Entries hold values this service loaded from its own store:
 * their structure and types are checked both ways, their checks were run when they were written
 * (a stored value that today's checks refuse is served as it is, not turned into a failing read).
 */
const jsonCodec = <A, I>(schema: Schema.Codec<A, I>): EntryCodec<A> => {
  const json = Schema.fromJsonString(Schema.toCodecJson(schema))
  const encodeChecked = Schema.encodeSync(json)
  const decodeChecked = Schema.decodeUnknownOption(json)
  return {
    encode: (value) => encodeChecked(value, SKIP_CHECKS),
    decode: (entry) => decodeChecked(entry, SKIP_CHECKS)
  }
}

/** One kind of value, read through the shared cache; see `make`. */
export interface ReadThrough<A> {
  /** The cached value, or `load`'s (then cached unless a write came in between). `None` results are not cached. */
  readonly get: <E, R>(id: string, load: Effect.Effect<Option.Option<A>, E, R>) => Effect.Effect<Option.Option<A>, E, R>
  /**
   * Replaces the cached value with a tombstone; call after every write has committed (and
   * when its outcome is unknown). If the cache cannot be told, it is told again in the
   * background, and this instance reads the key from its store until then.
   */
  readonly invalidate: (id: string) => Effect.Effect<void>
}

/**
 * Cache-aside over the shared cache for one kind of value: keys are namespaced and versioned
 * (`<namespace>:<version>:<id>`), values encoded by `schema` (JSON) or `codec`. A cache outage never fails a read:
 * it falls through to `load` and is logged once per interval, not per request.
 *
 * A read never stores a value older than the last write (ADR 0016). A reader that misses holds
 * what the key held when it looked (a write's tombstone, or a claim it set on an empty key; both
 * unique), loads, and stores the value only if the key still holds that marker, in one atomic
 * compare-and-set. A write replaces the key with a new tombstone after it committed, so a read
 * whose load may have seen the row before the commit is refused, on every instance. A hit is
 * one GET, as before. An invalidation that cannot reach the cache is retried in the background
 * until any entry it should have removed has expired; meanwhile this instance reads that key
 * from `load`.
 */
export const make = Effect.fnUntraced(function*<A, I>(options: {
  readonly namespace: string
  readonly version: number
  readonly timeToLive: Duration.Duration
} & ({ readonly schema: Schema.Codec<A, I> } | { readonly codec: EntryCodec<A> })): Effect.fn.Return<ReadThrough<A>, never, CacheStore | Scope.Scope> {
  const store = yield* CacheStore
  const { decode, encode } = "codec" in options ? options.codec : jsonCodec(options.schema)
  const keyOf = (id: string) => `${options.namespace}:v${options.version}:${id}`
  const degraded = outageLog(`cache: ${options.namespace} bypassed, cache unreachable`)

  // Invalidations the cache has not acknowledged, by key: retried until `until`, when every
  // entry they should have removed has expired (an entry stored by a read that claimed the key
  // before the write is stored within MARKER_TTL of the write and lives `timeToLive`).
  const retryWindow = Duration.toMillis(Duration.sum(MARKER_TTL, options.timeToLive)) + Duration.toMillis(RETRY_INTERVAL)
  const pending = new Map<string, { readonly until: number; readonly attempt: number }>()
  let attempts = 0
  let flushing = false
  const background = yield* FiberSet.make()

  const stillPending = (key: string, now: number) => {
    const entry = pending.get(key)
    if (entry === undefined) return false
    if (entry.until > now) return true
    pending.delete(key)
    return false
  }

  /** One round: every pending tombstone, until the cache fails again. */
  const flushOnce = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const due = [...pending].filter(([key]) => stillPending(key, now))
    yield* Effect.forEach(due, ([key, { attempt }]) =>
      Effect.tap(store.set(key, tombstone(), MARKER_TTL), () =>
        Effect.sync(() => {
          // A later failed invalidation of the same key may have come in meanwhile: keep it.
          if (pending.get(key)?.attempt === attempt) pending.delete(key)
        })), { concurrency: 16, discard: true })
    if (due.length > 0) {
      yield* Effect.logInfo(`cache: ${options.namespace}: ${due.length} invalidation(s) delivered after the cache came back`)
    }
  })

  const flushLoop: Effect.Effect<void> = Effect.gen(function*() {
    while (true) {
      yield* Effect.sleep(RETRY_INTERVAL)
      yield* flushOnce.pipe(Effect.ignore)
      const now = yield* Clock.currentTimeMillis
      for (const key of pending.keys()) stillPending(key, now)
      if (pending.size === 0) {
        flushing = false
        return
      }
    }
  }).pipe(Effect.onExit(() => Effect.sync(() => void (flushing = false))))

  const remember = (key: string) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      pending.delete(key)
      pending.set(key, { until: now + retryWindow, attempt: ++attempts })
      if (pending.size > MAX_PENDING) {
        const oldest = pending.keys().next().value!
        pending.delete(oldest)
        yield* Effect.logError(`cache: ${options.namespace} too many undelivered invalidations; gave up on ${oldest}`)
      }
      if (flushing) return
      flushing = true
      yield* FiberSet.run(background, flushLoop)
    })

  /**
   * The marker a miss may store over: the one the key holds, or a claim set on an empty key.
   * Answers the value instead when another reader stored it meanwhile; `undefined` when nothing
   * may be stored (the cache failed, or holds an entry this version cannot read and changed).
   */
  const claim = (key: string, held: Option.Option<string>) =>
    Effect.gen(function*() {
      const marker = claimMarker()
      if (Option.isSome(held)) {
        // An entry this version cannot read (another version's, or damaged): take it over.
        return (yield* store.setIfEquals(key, held.value, marker, MARKER_TTL)) ? { marker } : undefined
      }
      const found = yield* store.setIfAbsentOrGet(key, marker, MARKER_TTL)
      if (Option.isNone(found)) return { marker }
      if (isMarker(found.value)) return { marker: found.value }
      const value = decode(found.value)
      return Option.isSome(value) ? { value } : undefined
    }).pipe(Effect.catch((error) => Effect.as(degraded(error), undefined)))

  return {
    get: <E, R>(id: string, load: Effect.Effect<Option.Option<A>, E, R>): Effect.Effect<Option.Option<A>, E, R> =>
      Effect.gen(function*() {
        const key = keyOf(id)
        // This instance wrote it and could not tell the cache: the cache may still hold the old value.
        if (pending.size > 0 && stillPending(key, yield* Clock.currentTimeMillis)) return yield* load
        const held = yield* store.get(key).pipe(
          Effect.map(Option.some),
          Effect.catch((error) => Effect.as(degraded(error), Option.none<Option.Option<string>>()))
        )
        // Nothing seen, nothing stored: a value stored now could predate a write that also failed to reach the cache.
        if (Option.isNone(held)) return yield* load
        let marker: string | undefined
        if (Option.isSome(held.value) && isMarker(held.value.value)) {
          marker = held.value.value
        } else {
          if (Option.isSome(held.value)) {
            const cached = decode(held.value.value)
            if (Option.isSome(cached)) return cached
          }
          const claimed = yield* claim(key, held.value)
          if (claimed !== undefined && "value" in claimed) return claimed.value
          marker = claimed?.marker
        }
        const loaded = yield* load
        if (Option.isSome(loaded) && marker !== undefined) {
          yield* store.setIfEquals(key, marker, encode(loaded.value), options.timeToLive).pipe(Effect.catch(degraded))
        }
        return loaded
      }),
    invalidate: (id: string): Effect.Effect<void> => {
      const key = keyOf(id)
      return store.set(key, tombstone(), MARKER_TTL).pipe(
        Effect.catch((error) => Effect.andThen(degraded(error), remember(key)))
      )
    }
  }
})
