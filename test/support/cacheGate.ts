import { Deferred, Effect, Layer } from "effect"
import { CacheStore } from "../../src/capabilities/cache/CacheStore.ts"

/**
 * A gate in an app's cache store, for forcing a read to populate the cache late: once armed,
 * the next store of a cache entry (not a marker, which starts with `!`) under `prefix` stops until
 * released. Pass `layer` as `makeTestApp`'s `overrides`: it wraps the app's own store (the
 * capabilities are provided below the overrides).
 */
export const makeCacheGate = (prefix: string) => {
  let armed = false
  let reached = Deferred.makeUnsafe<void>()
  let released = Deferred.makeUnsafe<void>()

  const hold = (key: string, value: string) =>
    Effect.suspend(() => {
      if (!armed || !key.startsWith(prefix) || value.startsWith("!")) return Effect.void
      armed = false
      return Effect.andThen(Deferred.succeed(reached, undefined), Deferred.await(released))
    })

  const layer = Layer.effect(CacheStore, Effect.gen(function*() {
    const store = yield* CacheStore
    return CacheStore.of({
      ...store,
      set: (key, value, ttl) => Effect.andThen(hold(key, value), store.set(key, value, ttl)),
      setIfEquals: (key, expected, value, ttl) => Effect.andThen(hold(key, value), store.setIfEquals(key, expected, value, ttl))
    })
  })) as Layer.Layer<CacheStore>

  return {
    layer,
    /** Holds the next store; `reached` resolves when a read stopped at the gate. */
    arm: () => {
      reached = Deferred.makeUnsafe<void>()
      released = Deferred.makeUnsafe<void>()
      armed = true
      const gate = { reached, released }
      return {
        reached: Effect.runPromise(Deferred.await(gate.reached)),
        /** Lets the held read go on, and disarms the gate if nothing reached it. */
        release: () => {
          armed = false
          Effect.runSync(Deferred.succeed(gate.released, undefined))
        }
      }
    }
  }
}
