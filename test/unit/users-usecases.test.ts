import { randomUUID } from "node:crypto"
import { describe, it } from "@effect/vitest"
import { Duration, Effect, Ref } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import { EnqueuedJobs } from "../../src/capabilities/queue/JobQueue.ts"
import type { UserId } from "../../src/domain/User.ts"
import { AccessTokens } from "../../src/features/auth/AccessTokens.ts"
import * as Auth from "../../src/features/auth/Auth.ts"
import { Sessions } from "../../src/features/accounts/Sessions.ts"
import { AccountsRepository } from "../../src/features/accounts/AccountsRepository.ts"
import * as Users from "../../src/features/users/Users.ts"
import { memoryLayer } from "../support/memory.ts"

const PASSWORD = "correct horse battery"
const IP = "203.0.113.7"

/** Registers an account and returns it with its first session's tokens and actor. */
const signUp = (email: string, password = PASSWORD) =>
  Effect.gen(function*() {
    const { account, tokens } = yield* Auth.register({ email, password, fullName: `Name of ${email}` })
    const actor = yield* (yield* AccessTokens).verify(tokens.accessToken)
    return { account, tokens, actor }
  })

/** Another session of an existing account. */
const signIn = (email: string, password = PASSWORD) =>
  Effect.gen(function*() {
    const { account, tokens } = yield* Auth.login({ email, password, ip: IP })
    const actor = yield* (yield* AccessTokens).verify(tokens.accessToken)
    return { account, tokens, actor }
  })

/** An administrator: registered, promoted, then signed in again so the session carries the role. */
const signUpAdmin = (email = "admin@example.com") =>
  Effect.gen(function*() {
    const { account } = yield* signUp(email)
    yield* (yield* AccountsRepository).updateAdminFields(account.id, { role: "admin" })
    const admin = yield* signIn(email)
    expect(admin.actor.role).toBe("admin")
    return admin
  })

const isAlive = (sessionId: string) =>
  Effect.gen(function*() {
    return yield* (yield* Sessions).isAlive(sessionId)
  })

const enqueuedJobs = Effect.gen(function*() {
  return yield* Ref.get(yield* EnqueuedJobs)
})

describe("getMe", () => {
  it.effect("returns the caller's own account", () =>
    Effect.gen(function*() {
      yield* signUp("bob@example.com")
      const alice = yield* signUp("alice@example.com")
      const me = yield* Users.getMe(alice.actor)
      expect(me.id).toBe(alice.account.id)
      expect(me.email).toBe("alice@example.com")
      expect(me.fullName).toBe("Name of alice@example.com")
      expect(me.role).toBe("user")
    }).pipe(Effect.provide(memoryLayer())))
})

describe("updateProfile", () => {
  it.effect("changes fullName and avatarUrl and moves updatedAt", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      expect(alice.account.updatedAt.getTime()).toBe(0)
      yield* TestClock.adjust(Duration.minutes(1))
      const updated = yield* Users.updateProfile(alice.actor, {
        fullName: "Alice Liddell",
        avatarUrl: "https://cdn.example.com/alice.png"
      })
      expect(updated.fullName).toBe("Alice Liddell")
      expect(updated.avatarUrl).toBe("https://cdn.example.com/alice.png")
      expect(updated.updatedAt.getTime()).toBe(60_000)
      expect(updated.createdAt.getTime()).toBe(0)
      expect(updated.email).toBe("alice@example.com")

      const me = yield* Users.getMe(alice.actor)
      expect(me.fullName).toBe("Alice Liddell")
      expect(me.avatarUrl).toBe("https://cdn.example.com/alice.png")

      // Only the fields given change; null clears the avatar.
      const cleared = yield* Users.updateProfile(alice.actor, { avatarUrl: null })
      expect(cleared.avatarUrl).toBeNull()
      expect(cleared.fullName).toBe("Alice Liddell")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("with no changes returns the account untouched", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      yield* TestClock.adjust(Duration.minutes(1))
      const same = yield* Users.updateProfile(alice.actor, {})
      expect(same.updatedAt.getTime()).toBe(0)
      expect(same.fullName).toBe(alice.account.fullName)
    }).pipe(Effect.provide(memoryLayer())))
})

describe("changePassword", () => {
  it.effect("fails IncorrectPassword with a wrong current password and changes nothing", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      const other = yield* signIn("alice@example.com")
      const error = yield* Users.changePassword(alice.actor, {
        currentPassword: "wrong password",
        newPassword: "a brand new password"
      }).pipe(Effect.flip)
      expect(error._tag).toBe("IncorrectPassword")
      expect(yield* isAlive(other.actor.sessionId)).toBe(true)
      yield* signIn("alice@example.com", PASSWORD)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("sets the new password, keeps the current session and ends the others", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      const other = yield* signIn("alice@example.com")
      const bob = yield* signUp("bob@example.com")
      expect(yield* isAlive(other.actor.sessionId)).toBe(true)

      yield* Users.changePassword(alice.actor, { currentPassword: PASSWORD, newPassword: "a brand new password" })

      expect(yield* isAlive(alice.actor.sessionId)).toBe(true)
      yield* Auth.refresh(alice.tokens.refreshToken)
      expect(yield* isAlive(other.actor.sessionId)).toBe(false)
      const otherRefresh = yield* Auth.refresh(other.tokens.refreshToken).pipe(Effect.flip)
      expect(otherRefresh._tag).toBe("InvalidRefreshToken")
      // Someone else's session is untouched.
      expect(yield* isAlive(bob.actor.sessionId)).toBe(true)

      const oldPassword = yield* signIn("alice@example.com", PASSWORD).pipe(Effect.flip)
      expect(oldPassword._tag).toBe("InvalidCredentials")
      yield* signIn("alice@example.com", "a brand new password")
    }).pipe(Effect.provide(memoryLayer())))
})

describe("re-authentication is counted like a sign-in", () => {
  it.effect("ten wrong current passwords from one session, then even the right one is refused; another session is not", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      const other = yield* signIn("alice@example.com")
      for (let i = 0; i < 10; i++) {
        const wrong = yield* Users.changePassword(alice.actor, { currentPassword: `guess ${i}`, newPassword: "not set ever" }).pipe(Effect.flip)
        expect(wrong._tag).toBe("IncorrectPassword")
      }
      const locked = yield* Users.changePassword(alice.actor, { currentPassword: PASSWORD, newPassword: "not set ever" }).pipe(Effect.flip)
      expect(locked._tag).toBe("TooManyLoginAttempts")
      const lockedDelete = yield* Users.deleteAccount(alice.actor, PASSWORD).pipe(Effect.flip)
      expect(lockedDelete._tag).toBe("TooManyLoginAttempts")
      // The owner's other device still can.
      yield* Users.changePassword(other.actor, { currentPassword: PASSWORD, newPassword: "set from the other device" })
    }).pipe(Effect.provide(memoryLayer())))
})

describe("deleteAccount", () => {
  it.effect("fails IncorrectPassword with a wrong password and keeps the account", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      const error = yield* Users.deleteAccount(alice.actor, "wrong password").pipe(Effect.flip)
      expect(error._tag).toBe("IncorrectPassword")
      expect((yield* Users.getMe(alice.actor)).id).toBe(alice.account.id)
      expect(yield* isAlive(alice.actor.sessionId)).toBe(true)
      expect(yield* enqueuedJobs).toEqual([])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("deletes the account, ends its sessions and enqueues the cleanup", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      const other = yield* signIn("alice@example.com")
      const bob = yield* signUp("bob@example.com")

      yield* Users.deleteAccount(alice.actor, PASSWORD)

      const me = yield* Users.getMe(alice.actor).pipe(Effect.flip)
      expect(me._tag).toBe("UserNotFound")
      const login = yield* signIn("alice@example.com").pipe(Effect.flip)
      expect(login._tag).toBe("InvalidCredentials")
      expect(yield* isAlive(alice.actor.sessionId)).toBe(false)
      expect(yield* isAlive(other.actor.sessionId)).toBe(false)
      const refresh = yield* Auth.refresh(other.tokens.refreshToken).pipe(Effect.flip)
      expect(refresh._tag).toBe("InvalidRefreshToken")
      expect(yield* enqueuedJobs).toEqual([{ _tag: "account.cleanup", userId: alice.account.id }])

      expect(yield* isAlive(bob.actor.sessionId)).toBe(true)
      expect((yield* Users.getMe(bob.actor)).id).toBe(bob.account.id)
      // The email is free again.
      yield* signUp("alice@example.com")
    }).pipe(Effect.provide(memoryLayer())))
})

describe("listAccounts", () => {
  it.effect("fails Forbidden for a user", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      const error = yield* Users.listAccounts(alice.actor, {}).pipe(Effect.flip)
      expect(error._tag).toBe("Forbidden")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("fails Forbidden for a session started before the account was promoted", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      yield* (yield* AccountsRepository).updateAdminFields(alice.account.id, { role: "admin" })
      // The role comes from the session, not the database.
      const error = yield* Users.listAccounts(alice.actor, {}).pipe(Effect.flip)
      expect(error._tag).toBe("Forbidden")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("pages an administrator through every account in email order", () =>
    Effect.gen(function*() {
      const admin = yield* signUpAdmin()
      for (const email of ["dave@example.com", "bob@example.com", "erin@example.com", "carol@example.com"]) {
        yield* signUp(email)
      }
      yield* signUp("bobby@example.com")
      const expected = [
        "admin@example.com",
        "bob@example.com",
        "bobby@example.com",
        "carol@example.com",
        "dave@example.com",
        "erin@example.com"
      ]

      const seen: Array<string> = []
      let cursor: string | undefined = undefined
      let pages = 0
      do {
        const page: Users.AccountPage = yield* Users.listAccounts(admin.actor, { limit: 2, cursor })
        pages++
        expect(page.data.length).toBeLessThanOrEqual(2)
        seen.push(...page.data.map((account) => account.email))
        cursor = page.nextCursor ?? undefined
      } while (cursor !== undefined && pages < 10)
      expect(seen).toEqual(expected)
      expect(pages).toBe(3)

      const all = yield* Users.listAccounts(admin.actor, {})
      expect(all.data.map((account) => account.email)).toEqual(expected)
      expect(all.nextCursor).toBeNull()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("filters by an email prefix, case-insensitively, and pages within it", () =>
    Effect.gen(function*() {
      const admin = yield* signUpAdmin()
      for (const email of ["alice@example.com", "bob@example.com", "bobby@example.com", "carol@example.com"]) {
        yield* signUp(email)
      }
      const filtered = yield* Users.listAccounts(admin.actor, { emailPrefix: "BOB" })
      expect(filtered.data.map((account) => account.email)).toEqual(["bob@example.com", "bobby@example.com"])
      expect(filtered.nextCursor).toBeNull()

      const first = yield* Users.listAccounts(admin.actor, { emailPrefix: "bob", limit: 1 })
      expect(first.data.map((account) => account.email)).toEqual(["bob@example.com"])
      expect(first.nextCursor).not.toBeNull()
      const second = yield* Users.listAccounts(admin.actor, {
        emailPrefix: "bob",
        limit: 1,
        cursor: first.nextCursor ?? undefined
      })
      expect(second.data.map((account) => account.email)).toEqual(["bobby@example.com"])
      expect(second.nextCursor).toBeNull()

      const none = yield* Users.listAccounts(admin.actor, { emailPrefix: "zed" })
      expect(none).toEqual({ data: [], nextCursor: null })
    }).pipe(Effect.provide(memoryLayer())))
})

describe("updateAccount", () => {
  it.effect("fails Forbidden for a non-admin and changes nothing", () =>
    Effect.gen(function*() {
      const alice = yield* signUp("alice@example.com")
      const bob = yield* signUp("bob@example.com")
      const error = yield* Users.updateAccount(alice.actor, bob.account.id, { disabled: true }).pipe(Effect.flip)
      expect(error._tag).toBe("Forbidden")
      const promoteSelf = yield* Users.updateAccount(alice.actor, alice.account.id, { role: "admin" }).pipe(
        Effect.flip
      )
      expect(promoteSelf._tag).toBe("Forbidden")
      expect((yield* Users.getMe(bob.actor)).disabled).toBe(false)
      expect((yield* Users.getMe(alice.actor)).role).toBe("user")
      expect(yield* isAlive(bob.actor.sessionId)).toBe(true)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an admin disabling a user ends that user's sessions", () =>
    Effect.gen(function*() {
      const admin = yield* signUpAdmin()
      const bob = yield* signUp("bob@example.com")
      const bobOther = yield* signIn("bob@example.com")
      const carol = yield* signUp("carol@example.com")
      expect(yield* isAlive(bob.actor.sessionId)).toBe(true)

      const updated = yield* Users.updateAccount(admin.actor, bob.account.id, { disabled: true })
      expect(updated.disabled).toBe(true)
      expect(updated.role).toBe("user")

      expect(yield* isAlive(bob.actor.sessionId)).toBe(false)
      expect(yield* isAlive(bobOther.actor.sessionId)).toBe(false)
      const refresh = yield* Auth.refresh(bobOther.tokens.refreshToken).pipe(Effect.flip)
      expect(refresh._tag).toBe("InvalidRefreshToken")
      const login = yield* signIn("bob@example.com").pipe(Effect.flip)
      expect(login._tag).toBe("AccountDisabled")

      expect(yield* isAlive(carol.actor.sessionId)).toBe(true)
      expect(yield* isAlive(admin.actor.sessionId)).toBe(true)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an admin changing a user's role ends their sessions; the new role comes with the next login", () =>
    Effect.gen(function*() {
      const admin = yield* signUpAdmin()
      const bob = yield* signUp("bob@example.com")
      expect(yield* isAlive(bob.actor.sessionId)).toBe(true)

      const updated = yield* Users.updateAccount(admin.actor, bob.account.id, { role: "admin" })
      expect(updated.role).toBe("admin")
      expect(updated.disabled).toBe(false)
      expect(yield* isAlive(bob.actor.sessionId)).toBe(false)
      const refresh = yield* Auth.refresh(bob.tokens.refreshToken).pipe(Effect.flip)
      expect(refresh._tag).toBe("InvalidRefreshToken")

      const again = yield* signIn("bob@example.com")
      expect(again.actor.role).toBe("admin")
      yield* Users.listAccounts(again.actor, {})
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("every change ends the sessions, also one that finds the role already set (a retry)", () =>
    Effect.gen(function*() {
      const admin = yield* signUpAdmin()
      const bob = yield* signUp("bob@example.com")
      const updated = yield* Users.updateAccount(admin.actor, bob.account.id, { role: "user", disabled: false })
      expect(updated.role).toBe("user")
      expect(updated.disabled).toBe(false)
      expect(yield* isAlive(bob.actor.sessionId)).toBe(false)
      const refresh = yield* Auth.refresh(bob.tokens.refreshToken).pipe(Effect.flip)
      expect(refresh._tag).toBe("InvalidRefreshToken")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("an admin cannot change their own role or status", () =>
    Effect.gen(function*() {
      const admin = yield* signUpAdmin()
      const demote = yield* Users.updateAccount(admin.actor, admin.actor.userId, { role: "user" }).pipe(Effect.flip)
      expect(demote._tag).toBe("Forbidden")
      const disable = yield* Users.updateAccount(admin.actor, admin.actor.userId, { disabled: true }).pipe(
        Effect.flip
      )
      expect(disable._tag).toBe("Forbidden")
      const me = yield* Users.getMe(admin.actor)
      expect(me.role).toBe("admin")
      expect(me.disabled).toBe(false)
      expect(yield* isAlive(admin.actor.sessionId)).toBe(true)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("fails UserNotFound for an unknown id", () =>
    Effect.gen(function*() {
      const admin = yield* signUpAdmin()
      const error = yield* Users.updateAccount(admin.actor, randomUUID() as UserId, { disabled: true }).pipe(
        Effect.flip
      )
      expect(error._tag).toBe("UserNotFound")
    }).pipe(Effect.provide(memoryLayer())))
})
