import { availableParallelism } from "node:os"
import { hash, verify } from "@node-rs/bcrypt"
import { Context, Effect, Layer, Semaphore } from "effect"
import { AppConfig } from "../../config/AppConfig.ts"

/**
 * bcrypt through @node-rs/bcrypt: hashing runs on libuv's thread pool, never on the event loop.
 * `verifyUnknownUser` spends the same time as a real check, so a login for an email that has
 * no account takes as long as one with a wrong password.
 */
export class Passwords extends Context.Service<Passwords, {
  readonly hash: (password: string) => Effect.Effect<string>
  readonly verify: (password: string, passwordHash: string) => Effect.Effect<boolean>
  readonly verifyUnknownUser: (password: string) => Effect.Effect<false>
}>()("customify/features/auth/Passwords") {}

/**
 * bcrypt shares libuv's thread pool (4 threads by default) with the HMAC of JWT checks, DNS and
 * file I/O, and the machine's cores with the event loop. Letting a login storm take every thread
 * would stall all other requests, so at most half of the pool hashes at once, and never on every
 * core (one core stays for the event loop); further hashes wait in Effect, not in the pool.
 */
const CONCURRENT_HASHES = Math.max(
  1,
  Math.min(Math.floor(Number(process.env["UV_THREADPOOL_SIZE"] ?? 4) / 2), availableParallelism() - 1)
)

const make = (cost: number) =>
  Effect.gen(function*() {
    const permits = yield* Semaphore.make(CONCURRENT_HASHES)
    const hashWith = (password: string) => permits.withPermits(1)(Effect.promise(() => hash(password, cost)))
    const verifyWith = (password: string, passwordHash: string) =>
      permits.withPermits(1)(Effect.promise(() => verify(password, passwordHash))).pipe(
        Effect.catchDefect(() => Effect.succeed(false))
      )
    const dummyHash = yield* hashWith("dummy password for unknown accounts")
    return Passwords.of({
      hash: Effect.fn("Passwords.hash")(function*(password: string) {
        return yield* hashWith(password)
      }),
      verify: Effect.fn("Passwords.verify")(function*(password: string, passwordHash: string) {
        return yield* verifyWith(password, passwordHash)
      }),
      verifyUnknownUser: (password) => Effect.as(verifyWith(password, dummyHash), false as const)
    })
  })

/** Cost from BCRYPT_COST (12 by default, at least 10). */
export const layer = Layer.effect(Passwords, Effect.gen(function*() {
  const { bcryptCost } = yield* AppConfig
  return yield* make(bcryptCost)
}))

/** bcrypt's minimum cost, for unit tests only: the same code, 250 times cheaper. */
export const layerTest = Layer.effect(Passwords, make(4))
