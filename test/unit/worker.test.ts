import { it } from "@effect/vitest"
import { Effect, Fiber, Layer, Ref } from "effect"
import { RateLimiter } from "effect/persistence"
import { expect } from "vitest"
import * as LanguageModel from "../../src/capabilities/ai/LanguageModel.ts"
import * as Mailer from "../../src/capabilities/mail/Mailer.ts"
import * as Storage from "../../src/capabilities/storage/Storage.ts"
import * as VectorIndex from "../../src/capabilities/vectors/VectorIndex.ts"
import * as AiConfig from "../../src/config/AiConfig.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import * as Ai from "../../src/features/ai/Ai.ts"
import * as Auth from "../../src/features/auth/Auth.ts"
import { AccessTokens } from "../../src/features/auth/AccessTokens.ts"
import * as PasswordReset from "../../src/features/auth/PasswordReset.ts"
import * as Designs from "../../src/features/designs/Designs.ts"
import * as Worker from "../../src/features/jobs/Worker.ts"
import * as Subscriptions from "../../src/features/subscriptions/Subscriptions.ts"
import * as Users from "../../src/features/users/Users.ts"
import { validDocument } from "../support/http.ts"
import { memoryLayer } from "../support/memory.ts"

/** The use cases and the worker over one set of in-memory capabilities, as in one process. */
const layer = () =>
  memoryLayer().pipe(
    Layer.provideMerge(Layer.mergeAll(
      Mailer.layerMemory,
      Storage.layerMemory,
      LanguageModel.layerMemory,
      VectorIndex.layerMemory,
      // The similar-design search spends an hourly budget.
      RateLimiter.layerStoreMemory,
      AiConfig.layerTest()
    ))
  )

/** Lets the forked worker drain the queue. */
const drain = Effect.gen(function*() {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

it.effect("a password reset request becomes a job that the worker turns into an email", () =>
  Effect.gen(function*() {
    const worker = yield* Effect.forkChild(Worker.run)
    yield* Auth.register({ email: "reset@example.com", password: "correct horse", fullName: "R" })
    yield* PasswordReset.requestPasswordReset("reset@example.com")
    yield* drain
    const sent = yield* Ref.get(yield* Mailer.SentMails)
    expect(sent).toHaveLength(1)
    expect(sent[0]!.to).toBe("reset@example.com")
    const token = /token=([A-Za-z0-9_-]{43})\b/.exec(sent[0]!.text)?.[1]
    // The emailed token is the one that resets the password.
    yield* PasswordReset.confirmPasswordReset({ token: token!, newPassword: "a new password" })
    yield* Fiber.interrupt(worker)
  }).pipe(Effect.provide(layer())))

it.effect("deleting an account empties its storage prefix (and only its) through the worker", () =>
  Effect.gen(function*() {
    const worker = yield* Effect.forkChild(Worker.run)
    const objects = yield* Storage.MemoryObjects
    const gone = yield* Auth.register({ email: "gone@example.com", password: "correct horse", fullName: "G" })
    const stays = yield* Auth.register({ email: "stays@example.com", password: "correct horse", fullName: "S" })
    const bytes = new Uint8Array([137, 80, 78, 71])
    yield* objects.put(`users/${gone.account.id}/designs/d1/a1/logo.png`, bytes, "image/png")
    yield* objects.put(`users/${gone.account.id}/designs/d2/a2/photo.png`, bytes, "image/png")
    yield* objects.put(`users/${stays.account.id}/designs/d3/a3/mine.png`, bytes, "image/png")
    const actor: Actor = yield* (yield* AccessTokens).verify(gone.tokens.accessToken)
    yield* Users.deleteAccount(actor, "correct horse")
    yield* drain
    expect(yield* objects.keys).toEqual([`users/${stays.account.id}/designs/d3/a3/mine.png`])
    yield* Fiber.interrupt(worker)
  }).pipe(Effect.provide(layer())))

it.effect("the clean-up job of an account that still exists fails (to be retried) and removes nothing", () =>
  Effect.gen(function*() {
    const objects = yield* Storage.MemoryObjects
    const alive = yield* Auth.register({ email: "alive@example.com", password: "correct horse", fullName: "A" })
    yield* objects.put(`users/${alive.account.id}/designs/d1/a1/logo.png`, new Uint8Array([137, 80, 78, 71]), "image/png")
    const error = yield* Effect.flip(Worker.handleJob({ _tag: "account.cleanup", userId: alive.account.id }, { id: "job-1", attempts: 0 }))
    expect(error._tag).toBe("AccountStillExists")
    expect(yield* objects.keys).toEqual([`users/${alive.account.id}/designs/d1/a1/logo.png`])
  }).pipe(Effect.provide(layer())))

it.effect("design writes are indexed by the worker, so similar designs find them", () =>
  Effect.gen(function*() {
    const worker = yield* Effect.forkChild(Worker.run)
    const user = yield* Auth.register({ email: "index@example.com", password: "correct horse", fullName: "I" })
    yield* Subscriptions.setSubscription(user.account.id, "pro", "active")
    const actor: Actor = { userId: user.account.id, role: "user", sessionId: "s".repeat(22) }
    const first = yield* Designs.createDesign(actor, { name: "Cat mug", productType: "mug", document: validDocument() as never })
    const second = yield* Designs.createDesign(actor, { name: "Cat mug two", productType: "mug", document: validDocument() as never })
    yield* drain
    const similar = yield* Ai.similarDesigns(actor, first.id, 5)
    expect(similar.map((design) => design.id)).toEqual([second.id])
    yield* Fiber.interrupt(worker)
  }).pipe(Effect.provide(layer())))
