import { describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Option, Ref } from "effect"
import { expect } from "vitest"
import { EmailTaken, PasswordHashingBusy } from "../../src/domain/AuthErrors.ts"
import * as Passwords from "../../src/features/accounts/Passwords.ts"
import * as Auth from "../../src/features/auth/Auth.ts"
import { memoryLayer } from "../support/memory.ts"

const PASSWORD = "correct horse battery"

/**
 * Slow enough that a call hashing holds its thread for a while (about 250 ms here, at least
 * 60 ms on anything), so the calls behind it really wait; one thread hashes, two may wait.
 */
const SLOW = { cost: 12, concurrency: 1, queue: 2 } as const

/** A refusal must come back without waiting for any hash: far below one hash's duration. */
const AT_ONCE_MS = 30

/** Runs `effect`, answering its exit and how long it took. */
const timedExit = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = performance.now()
    const exit = yield* Effect.exit(effect)
    return { exit, millis: performance.now() - started }
  })

/** Forks `effect` and lets it run until it blocks, so it holds (or waits for) its place now. */
const start = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.forkChild(effect, { startImmediately: true })

/** The error an exit failed with ("success" when it did not). */
const failureOf = <E>(exit: Exit.Exit<unknown, E>): E | "success" | "no error" =>
  Exit.isSuccess(exit) ? "success" : Option.getOrElse(Cause.findErrorOption(exit.cause), () => "no error" as const)

describe("password hashing admission", () => {
  it.live("refuses at once beyond the queue, and completes every call it admitted", () =>
    Effect.gen(function*() {
      const passwords = yield* Passwords.make(SLOW)
      const [oneHashTook, oneHash] = yield* Effect.timed(passwords.hash(PASSWORD))
      // One hashing, two waiting: the queue is full.
      expect(yield* passwords.saturated).toBe(false)
      const admitted = yield* Effect.forEach([1, 2, 3], () => start(passwords.hash(PASSWORD)))
      expect(yield* passwords.saturated).toBe(true)
      const refusedHash = yield* timedExit(passwords.hash(PASSWORD))
      const refusedVerify = yield* timedExit(passwords.verify(PASSWORD, oneHash))
      const refusedUnknown = yield* timedExit(passwords.verifyUnknownUser(PASSWORD))
      for (const refused of [refusedHash, refusedVerify, refusedUnknown]) {
        expect(failureOf(refused.exit)).toBeInstanceOf(PasswordHashingBusy)
        expect(refused.millis).toBeLessThan(AT_ONCE_MS)
      }
      expect(Duration.toMillis(oneHashTook)).toBeGreaterThan(AT_ONCE_MS * 2)
      // Every admitted call completes, with a hash of the password.
      const hashes = yield* Fiber.joinAll(admitted)
      expect(hashes).toHaveLength(3)
      for (const hash of hashes) expect(yield* passwords.verify(PASSWORD, hash)).toBe(true)
      // And once they are done the queue is empty again.
      expect(yield* passwords.saturated).toBe(false)
      expect(Exit.isSuccess(yield* Effect.exit(passwords.hash(PASSWORD)))).toBe(true)
    }), 20_000)

  it.live("gives an interrupted waiter's place back", () =>
    Effect.gen(function*() {
      const passwords = yield* Passwords.make(SLOW)
      const running = yield* start(passwords.hash(PASSWORD))
      const waiters = yield* Effect.forEach([1, 2], () => start(passwords.hash(PASSWORD)))
      expect(failureOf(yield* Effect.exit(passwords.hash(PASSWORD)))).toBeInstanceOf(PasswordHashingBusy)
      // The clients of both waiters go away: K = 2 new calls are admitted, the next is refused.
      yield* Fiber.interruptAll(waiters)
      const newcomers = yield* Effect.forEach([1, 2], () => start(passwords.hash(PASSWORD)))
      const refused = yield* timedExit(passwords.hash(PASSWORD))
      expect(failureOf(refused.exit)).toBeInstanceOf(PasswordHashingBusy)
      expect(refused.millis).toBeLessThan(AT_ONCE_MS)
      expect(yield* Fiber.joinAll([running, ...newcomers])).toHaveLength(3)
      for (const waiter of waiters) expect(Exit.hasInterrupts(yield* Fiber.await(waiter))).toBe(true)
    }), 20_000)

  it.live("bounds sign-ups on the memory layers: the admitted ones register, the others are refused at once", () =>
    Effect.gen(function*() {
      const passwords = yield* Passwords.make(SLOW)
      const signUps = yield* Effect.forEach([0, 1, 2, 3, 4, 5], (i) =>
        start(timedExit(Auth.register({ email: `user${i}@example.com`, password: PASSWORD, fullName: "User" }).pipe(
          Effect.provideService(Passwords.Passwords, passwords)
        ))))
      const outcomes = yield* Fiber.joinAll(signUps)
      const refused = outcomes.filter((outcome) => Exit.isFailure(outcome.exit))
      expect(outcomes.filter((outcome) => Exit.isSuccess(outcome.exit))).toHaveLength(3)
      expect(refused).toHaveLength(3)
      for (const outcome of refused) {
        expect(failureOf(outcome.exit)).toBeInstanceOf(PasswordHashingBusy)
        expect(outcome.millis).toBeLessThan(AT_ONCE_MS)
      }
    }).pipe(Effect.provide(memoryLayer())), 20_000)
})

describe("register", () => {
  it.effect("answers EmailTaken for a registered email without hashing the password", () =>
    Effect.gen(function*() {
      const real = yield* Passwords.Passwords
      const hashes = yield* Ref.make(0)
      const counting = Passwords.Passwords.of({ ...real, hash: (password) => Effect.andThen(Ref.update(hashes, (n) => n + 1), real.hash(password)) })
      const register = (email: string) =>
        Auth.register({ email, password: PASSWORD, fullName: "Alice" }).pipe(Effect.provideService(Passwords.Passwords, counting))
      yield* register("alice@example.com")
      expect(yield* Ref.get(hashes)).toBe(1)
      expect(failureOf(yield* Effect.exit(register("alice@example.com")))).toBeInstanceOf(EmailTaken)
      expect(yield* Ref.get(hashes)).toBe(1)
    }).pipe(Effect.provide(memoryLayer())))
})
