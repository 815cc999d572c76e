import { availableParallelism } from "node:os"
import { hash, verify } from "@node-rs/bcrypt"
import { Context, Effect, Layer, Option, Semaphore } from "effect"
import { AppConfig } from "../../config/AppConfig.ts"
import { PasswordHashingBusy } from "../../domain/AuthErrors.ts"

/**
 * bcrypt through @node-rs/bcrypt: hashing runs on libuv's thread pool, never on the event loop.
 * `verifyUnknownUser` spends the same time as a real check, so a login for an email that has
 * no account takes as long as one with a wrong password. Each call fails at once with
 * `PasswordHashingBusy` when the hashes running and waiting fill the admission bound.
 */
export class Passwords extends Context.Service<Passwords, {
  readonly hash: (password: string) => Effect.Effect<string, PasswordHashingBusy>
  readonly verify: (password: string, passwordHash: string) => Effect.Effect<boolean, PasswordHashingBusy>
  readonly verifyUnknownUser: (password: string) => Effect.Effect<false, PasswordHashingBusy>
  /**
   * Whether every place is taken right now: a hint that lets a caller refuse before doing any
   * other work (a call made next may still be admitted or refused; the calls above decide).
   */
  readonly saturated: Effect.Effect<boolean>
}>()("customify/features/auth/Passwords") {}

/**
 * bcrypt shares libuv's thread pool (4 threads by default) with the HMAC of JWT checks, DNS and
 * file I/O, and the machine's cores with the event loop. Letting a login storm take every thread
 * would stall all other requests, so at most half of the pool hashes at once, and never on every
 * core (one core stays for the event loop); further hashes wait in Effect, not in the pool.
 */
export const CONCURRENT_HASHES = Math.max(
  1,
  Math.min(Math.floor(Number(process.env["UV_THREADPOOL_SIZE"] ?? 4) / 2), availableParallelism() - 1)
)

export interface PasswordsOptions {
  /** bcrypt work factor. */
  readonly cost: number
  /** Calls that may wait beyond the running ones (PASSWORD_HASH_QUEUE); more fail at once. */
  readonly queue: number
  /** Calls that hash at once; CONCURRENT_HASHES unless a test says otherwise. */
  readonly concurrency?: number | undefined
}

/**
 * Admission in front of bcrypt, from two of Effect's semaphores. `running` lets `concurrency`
 * calls hash at once and makes the others wait, in order. `places` holds one permit for each
 * call running or waiting, `concurrency + queue` in all, and is only ever taken if a permit is
 * free: taking it is one synchronous check-and-take (no window between counting and taking, so
 * the bound is exact however many fibers arrive at once), and a call that finds none fails at
 * once with `PasswordHashingBusy` instead of queueing. A place is given back when its call ends,
 * whichever way: a waiter interrupted (client gone, request timed out) leaves `running`'s queue
 * and frees its place at once.
 *
 * Once on the thread pool bcrypt cannot be stopped, so the hash itself is uninterruptible: an
 * interrupted call keeps its permit until bcrypt returns, and `running` counts the threads that
 * are really busy (else each abandoned request would let one more hash onto the pool).
 */
export const make = (options: PasswordsOptions) =>
  Effect.gen(function*() {
    const concurrency = options.concurrency ?? CONCURRENT_HASHES
    const running = yield* Semaphore.make(concurrency)
    const places = yield* Semaphore.make(concurrency + options.queue)
    let occupied = 0
    const onPool = <A>(work: () => Promise<A>) => running.withPermits(1)(Effect.uninterruptible(Effect.promise(work)))
    const admitted = <A>(work: () => Promise<A>): Effect.Effect<A, PasswordHashingBusy> =>
      places.withPermitsIfAvailable(1)(
        Effect.suspend(() => {
          occupied++
          return Effect.ensuring(onPool(work), Effect.sync(() => occupied--))
        })
      ).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new PasswordHashingBusy()),
          onSome: Effect.succeed
        }))
      )
    const verifyWith = (password: string, passwordHash: string) =>
      admitted(() => verify(password, passwordHash)).pipe(Effect.catchDefect(() => Effect.succeed(false)))
    // At start-up, before any request: it waits for no place.
    const dummyHash = yield* onPool(() => hash("dummy password for unknown accounts", options.cost))
    return Passwords.of({
      hash: Effect.fn("Passwords.hash")(function*(password: string) {
        return yield* admitted(() => hash(password, options.cost))
      }),
      verify: Effect.fn("Passwords.verify")(function*(password: string, passwordHash: string) {
        return yield* verifyWith(password, passwordHash)
      }),
      verifyUnknownUser: (password) => Effect.as(verifyWith(password, dummyHash), false as const),
      saturated: Effect.sync(() => occupied >= concurrency + options.queue)
    })
  })

/** Cost from BCRYPT_COST (12 by default, at least 10), waiting calls bounded by PASSWORD_HASH_QUEUE. */
export const layer = Layer.effect(Passwords, Effect.gen(function*() {
  const { bcryptCost, passwordHashQueue } = yield* AppConfig
  return yield* make({ cost: bcryptCost, queue: passwordHashQueue })
}))

/** bcrypt's minimum cost, for unit tests only: the same code, 250 times cheaper. */
export const layerTest = Layer.effect(Passwords, Effect.gen(function*() {
  const { passwordHashQueue } = yield* AppConfig
  return yield* make({ cost: 4, queue: passwordHashQueue })
}))
