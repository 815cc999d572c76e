import { it } from "@effect/vitest"
import { Effect } from "effect"
import { expect } from "vitest"
import * as Auth from "../../src/features/auth/Auth.ts"
import { memoryLayer } from "../support/memory.ts"

it.effect("register then login on in-memory layers", () =>
  Effect.gen(function*() {
    const registered = yield* Auth.register({ email: "a@example.com", password: "password-1", fullName: "A" })
    expect(registered.account.email).toBe("a@example.com")
    const loggedIn = yield* Auth.login({ email: "a@example.com", password: "password-1", ip: "1.2.3.4" })
    expect(loggedIn.tokens.tokenType).toBe("Bearer")
  }).pipe(Effect.provide(memoryLayer())))
