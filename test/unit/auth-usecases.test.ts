import { describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { SignJWT } from "jose"
import { expect } from "vitest"
import { EnqueuedJobs } from "../../src/capabilities/queue/JobQueue.ts"
import { DatabaseUnavailable } from "../../src/capabilities/database/DatabaseUnavailable.ts"
import { PasswordHashingBusy } from "../../src/domain/AuthErrors.ts"
import { DEVELOPMENT_JWT_SECRET } from "../../src/config/AppConfig.ts"
import type { Actor } from "../../src/domain/Policy.ts"
import { AccessTokens } from "../../src/features/auth/AccessTokens.ts"
import * as Auth from "../../src/features/auth/Auth.ts"
import * as PasswordReset from "../../src/features/auth/PasswordReset.ts"
import * as Users from "../../src/features/users/Users.ts"
import { SentMails } from "../../src/capabilities/mail/Mailer.ts"
import { LoginThrottle, networkOf, pairAddress } from "../../src/features/auth/LoginThrottle.ts"
import { Passwords } from "../../src/features/accounts/Passwords.ts"
import { Sessions } from "../../src/features/accounts/Sessions.ts"
import { AccountsRepository } from "../../src/features/accounts/AccountsRepository.ts"
import { memoryLayer } from "../support/memory.ts"

const EMAIL = "alice@example.com"
const PASSWORD = "correct horse battery"
const IP = "203.0.113.7"

const registerAlice = Auth.register({ email: EMAIL, password: PASSWORD, fullName: "Alice" })

/** The actor (with its session id) an access token stands for. */
const actorOf = (accessToken: string) =>
  Effect.gen(function*() {
    return yield* (yield* AccessTokens).verify(accessToken)
  })

const isAlive = (sessionId: string) =>
  Effect.gen(function*() {
    return yield* (yield* Sessions).isAlive(sessionId)
  })

const enqueuedJobs = Effect.gen(function*() {
  return yield* Ref.get(yield* EnqueuedJobs)
})


const base64url = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url")

const signAccessToken = (actor: Actor, options: {
  readonly typ?: string
  readonly iss?: string
  readonly aud?: string
  readonly secret?: string
} = {}) =>
  Effect.promise(() =>
    new SignJWT({ sid: actor.sessionId, role: actor.role })
      .setProtectedHeader({ alg: "HS256", typ: options.typ ?? "at+jwt" })
      .setIssuer(options.iss ?? "customify-core-api")
      .setAudience(options.aud ?? "customify")
      .setSubject(actor.userId)
      .setIssuedAt(0)
      .setExpirationTime(900)
      .sign(new TextEncoder().encode(options.secret ?? DEVELOPMENT_JWT_SECRET))
  )

describe("register", () => {
  it.effect("creates a user with role user and signs it in", () =>
    Effect.gen(function*() {
      const { account, tokens } = yield* registerAlice
      expect(account.email).toBe(EMAIL)
      expect(account.role).toBe("user")
      expect(account.disabled).toBe(false)
      expect(account.passwordHash).not.toBe(PASSWORD)
      expect(tokens.tokenType).toBe("Bearer")
      expect(tokens.expiresIn).toBe(900)
      expect(tokens.refreshToken.length).toBeGreaterThan(0)
      const actor = yield* actorOf(tokens.accessToken)
      expect(actor.userId).toBe(account.id)
      expect(actor.role).toBe("user")
      expect(yield* isAlive(actor.sessionId)).toBe(true)
      const stored = yield* (yield* AccountsRepository).findById(account.id)
      expect(stored._tag).toBe("Some")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("fails EmailTaken for an email already registered", () =>
    Effect.gen(function*() {
      yield* registerAlice
      const error = yield* Auth.register({ email: EMAIL, password: "another password", fullName: "Other" }).pipe(
        Effect.flip
      )
      expect(error._tag).toBe("EmailTaken")
      // The first account keeps its password.
      yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
    }).pipe(Effect.provide(memoryLayer())))
})

describe("login", () => {
  it.effect("starts a new session carrying the account's role", () =>
    Effect.gen(function*() {
      const registered = yield* registerAlice
      const { account, tokens } = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
      expect(account.id).toBe(registered.account.id)
      expect(tokens.tokenType).toBe("Bearer")
      expect(tokens.expiresIn).toBe(900)
      const first = yield* actorOf(registered.tokens.accessToken)
      const second = yield* actorOf(tokens.accessToken)
      expect(second.userId).toBe(account.id)
      expect(second.sessionId).not.toBe(first.sessionId)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("fails InvalidCredentials for a wrong password and for an unknown email", () =>
    Effect.gen(function*() {
      yield* registerAlice
      const wrongPassword = yield* Auth.login({ email: EMAIL, password: "wrong password", ip: IP }).pipe(Effect.flip)
      expect(wrongPassword._tag).toBe("InvalidCredentials")
      const unknownEmail = yield* Auth.login({ email: "nobody@example.com", password: PASSWORD, ip: IP }).pipe(
        Effect.flip
      )
      expect(unknownEmail._tag).toBe("InvalidCredentials")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("tells a disabled account so only after its password was proven", () =>
    Effect.gen(function*() {
      const { account } = yield* registerAlice
      yield* (yield* AccountsRepository).updateAdminFields(account.id, { disabled: true })
      const rightPassword = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP }).pipe(Effect.flip)
      expect(rightPassword._tag).toBe("AccountDisabled")
      const wrongPassword = yield* Auth.login({ email: EMAIL, password: "wrong password", ip: IP }).pipe(Effect.flip)
      expect(wrongPassword._tag).toBe("InvalidCredentials")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("locks an email and ip pair after 10 failures, until the 15 minute window ends", () =>
    Effect.gen(function*() {
      yield* registerAlice
      for (let attempt = 1; attempt <= 10; attempt++) {
        const error = yield* Auth.login({ email: EMAIL, password: "wrong password", ip: IP }).pipe(Effect.flip)
        expect(error._tag).toBe("InvalidCredentials")
      }
      const locked = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP }).pipe(Effect.flip)
      expect(locked._tag).toBe("TooManyLoginAttempts")
      if (locked._tag !== "TooManyLoginAttempts") return
      expect(locked.retryAfterSeconds).toBeGreaterThanOrEqual(1)
      expect(locked.retryAfterSeconds).toBeLessThanOrEqual(900)

      // Another ip is counted on its own.
      const otherIp = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: "198.51.100.1" })
      expect(otherIp.tokens.tokenType).toBe("Bearer")

      yield* TestClock.adjust(Duration.minutes(10))
      const stillLocked = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP }).pipe(Effect.flip)
      expect(stillLocked._tag).toBe("TooManyLoginAttempts")
      if (stillLocked._tag === "TooManyLoginAttempts") {
        expect(stillLocked.retryAfterSeconds).toBeLessThanOrEqual(300)
      }

      yield* TestClock.adjust(Duration.minutes(5))
      const unlocked = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
      expect(unlocked.tokens.tokenType).toBe("Bearer")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a successful login resets the failure counter", () =>
    Effect.gen(function*() {
      yield* registerAlice
      const failNineTimes = Effect.gen(function*() {
        for (let attempt = 1; attempt <= 9; attempt++) {
          const error = yield* Auth.login({ email: EMAIL, password: "wrong password", ip: IP }).pipe(Effect.flip)
          expect(error._tag).toBe("InvalidCredentials")
        }
      })
      yield* failNineTimes
      yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
      yield* failNineTimes
      // 18 failures in the window, but only 9 since the last success.
      const result = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
      expect(result.tokens.tokenType).toBe("Bearer")
    }).pipe(Effect.provide(memoryLayer())))
})

const wrongLogin = (ip: string, email = EMAIL) =>
  Auth.login({ email, password: "wrong password", ip }).pipe(Effect.flip, Effect.map((error) => error._tag))
const rightLogin = (ip: string) =>
  Auth.login({ email: EMAIL, password: PASSWORD, ip }).pipe(
    Effect.map(() => "SignedIn" as const),
    Effect.catch((error) => Effect.succeed(error._tag))
  )
/** `count` wrong passwords from each address, in parallel; the tags they answer. */
const wrongFrom = (addresses: ReadonlyArray<string>, count: number) =>
  Effect.forEach(addresses.flatMap((ip) => Array(count).fill(ip) as Array<string>), (ip) => wrongLogin(ip), { concurrency: "unbounded" })
const botnet = (from: number, to: number, network = "192.0.2") =>
  Array.from({ length: to - from + 1 }, (_, i) => `${network}.${from + i}`)
const tally = (tags: ReadonlyArray<string>) =>
  tags.reduce<Record<string, number>>((counts, tag) => ({ ...counts, [tag]: (counts[tag] ?? 0) + 1 }), {})

describe("login: the per-account ceiling across addresses", () => {
  it.effect("beyond 50 attempts for one email from all addresses, new addresses are refused (429) until the window ends", () =>
    Effect.gen(function*() {
      yield* registerAlice
      // Five addresses, ten guesses each: 50, every one checked.
      expect(tally(yield* wrongFrom(botnet(1, 5), 10))).toEqual({ InvalidCredentials: 50 })
      // A sixth address is refused before its password is checked, the right one included.
      const refused = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: "192.0.2.6" }).pipe(Effect.flip)
      expect(refused._tag).toBe("TooManyLoginAttempts")
      if (refused._tag !== "TooManyLoginAttempts") return
      expect(refused.retryAfterSeconds).toBeGreaterThan(800)
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(900)
      expect(yield* wrongLogin("2001:db8::6")).toBe("TooManyLoginAttempts")
      // Another email is not affected.
      expect(yield* wrongLogin("192.0.2.6", "bob@example.com")).toBe("InvalidCredentials")

      yield* TestClock.adjust(Duration.minutes(15))
      expect(yield* rightLogin("192.0.2.6")).toBe("SignedIn")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a network the owner signed in from within 30 days still passes, bound by its own pair's limit", () =>
    Effect.gen(function*() {
      yield* registerAlice
      // The owner signs in at home before the attack (register does not count: no address).
      expect(yield* rightLogin("203.0.113.7")).toBe("SignedIn")
      yield* TestClock.adjust(Duration.days(29))
      expect(tally(yield* wrongFrom(botnet(1, 5), 10))).toEqual({ InvalidCredentials: 50 })
      expect(yield* rightLogin("192.0.2.77")).toBe("TooManyLoginAttempts")
      // The same address, and another in its /24 (a renewed lease), still sign in.
      expect(yield* rightLogin("203.0.113.7")).toBe("SignedIn")
      expect(yield* rightLogin("203.0.113.200")).toBe("SignedIn")
      // A typo from home is fine; ten are not: the pair's own limit still holds.
      for (let i = 0; i < 10; i++) expect(yield* wrongLogin("203.0.113.7")).toBe("InvalidCredentials")
      expect(yield* rightLogin("203.0.113.7")).toBe("TooManyLoginAttempts")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a network not signed in from for more than 30 days is no longer known", () =>
    Effect.gen(function*() {
      yield* registerAlice
      expect(yield* rightLogin("203.0.113.7")).toBe("SignedIn")
      yield* TestClock.adjust(Duration.days(31))
      yield* wrongFrom(botnet(1, 5), 10)
      expect(yield* rightLogin("203.0.113.7")).toBe("TooManyLoginAttempts")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("attempts a pair's own limit refuses do not count for the account: one address cannot reach the ceiling", () =>
    Effect.gen(function*() {
      yield* registerAlice
      // Four addresses, twelve each: 40 checked, 8 refused by their pair.
      expect(tally(yield* wrongFrom(botnet(1, 4), 12))).toEqual({ InvalidCredentials: 40, TooManyLoginAttempts: 8 })
      // So a fifth address still has all ten of its attempts.
      expect(tally(yield* wrongFrom(botnet(5, 5), 10))).toEqual({ InvalidCredentials: 10 })
      expect(yield* wrongLogin("192.0.2.6")).toBe("TooManyLoginAttempts")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a successful sign-in gives its attempt back to the account: legitimate sign-ins never build up to the ceiling", () =>
    Effect.gen(function*() {
      yield* registerAlice
      // 60 sign-ins from 60 addresses (an integration on autoscaled hosts) all succeed.
      const signIns = yield* Effect.forEach(botnet(1, 60), (ip) => rightLogin(ip))
      expect(tally(signIns)).toEqual({ SignedIn: 60 })
      // They left the account's count at zero: 50 failures still fit.
      expect(tally(yield* wrongFrom(botnet(1, 5, "198.51.100"), 10))).toEqual({ InvalidCredentials: 50 })
      expect(yield* wrongLogin("198.51.100.6")).toBe("TooManyLoginAttempts")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("addresses of one IPv6 /64 share one pair's limit", () =>
    Effect.gen(function*() {
      yield* registerAlice
      for (let i = 1; i <= 10; i++) expect(yield* wrongLogin(`2001:db8:1:2::${i.toString(16)}`)).toBe("InvalidCredentials")
      expect(yield* rightLogin("2001:db8:1:2:ffff:1:2:3")).toBe("TooManyLoginAttempts")
      expect(yield* rightLogin("2001:db8:1:3::1")).toBe("SignedIn")
    }).pipe(Effect.provide(memoryLayer())))

  it("reduces addresses to what is counted: IPv6 to its /64; networks to IPv4 /24 and IPv6 /64", () => {
    expect(pairAddress("203.0.113.7")).toBe("203.0.113.7")
    expect(pairAddress("2001:db8:1:2::5")).toBe("2001:db8:1:2::/64")
    expect(pairAddress("2001:DB8:0001:0002:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:1:2::/64")
    expect(pairAddress("::1")).toBe("0:0:0:0::/64")
    expect(pairAddress("64:ff9b::203.0.113.7")).toBe("64:ff9b:0:0::/64")
    expect(pairAddress("fe80::1%eth0")).toBe("fe80:0:0:0::/64")
    expect(pairAddress("unknown")).toBe("unknown")
    expect(networkOf("203.0.113.7")).toBe("203.0.113.0/24")
    expect(networkOf("2001:db8:1:2::5")).toBe("2001:db8:1:2::/64")
    expect(networkOf("unknown")).toBe("unknown")
  })

  it.effect("when the attempt cannot be counted (database down), no password is checked: right and wrong fail alike", () =>
    Effect.gen(function*() {
      yield* registerAlice
      const passwords = yield* Passwords
      let checked = 0
      const counting = Passwords.of({
        ...passwords,
        verify: (password, hash) => Effect.suspend(() => (checked++, passwords.verify(password, hash))),
        verifyUnknownUser: (password) => Effect.suspend(() => (checked++, passwords.verifyUnknownUser(password)))
      })
      const down = Layer.succeed(LoginThrottle, LoginThrottle.of({
        attempt: () => Effect.fail(new DatabaseUnavailable({ cause: "connection refused" })),
        succeeded: () => Effect.fail(new DatabaseUnavailable({ cause: "connection refused" })),
        unchecked: () => Effect.fail(new DatabaseUnavailable({ cause: "connection refused" }))
      }))
      const outcomes = yield* Effect.forEach([PASSWORD, "wrong password"], (password) =>
        Auth.login({ email: EMAIL, password, ip: IP }).pipe(
          Effect.flip,
          Effect.map((error) => error._tag),
          Effect.provide(down),
          Effect.provideService(Passwords, counting)
        ))
      expect(outcomes).toEqual(["DatabaseUnavailable", "DatabaseUnavailable"])
      expect(checked).toBe(0)
      // Control: with attempts counted, the spy does see the check.
      yield* wrongLogin(IP).pipe(Effect.provideService(Passwords, counting))
      expect(checked).toBe(1)
    }).pipe(Effect.provide(memoryLayer())))
})

describe("sessions per user", () => {
  it.effect("signing in beyond MAX_SESSIONS_PER_USER ends the oldest sessions, never the new one", () =>
    Effect.gen(function*() {
      yield* registerAlice
      const sessions = []
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust(Duration.seconds(1))
        sessions.push(yield* actorOf((yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })).tokens.accessToken))
      }
      const alive = yield* Effect.forEach(sessions, (actor) => isAlive(actor.sessionId))
      expect(alive).toEqual([false, false, true, true, true])
    }).pipe(Effect.provide(memoryLayer({ maxSessionsPerUser: 3 }))))
})

describe("login while hashing is busy", () => {
  it.effect("an attempt refused as busy is not a failed attempt: retrying through an overload never locks the pair", () =>
    Effect.gen(function*() {
      yield* registerAlice
      const passwords = yield* Passwords
      let busy = true
      const overloaded = Passwords.of({
        ...passwords,
        verify: (password, hash) => busy ? Effect.fail(new PasswordHashingBusy()) : passwords.verify(password, hash)
      })
      const attempt = Auth.login({ email: EMAIL, password: PASSWORD, ip: IP }).pipe(Effect.provideService(Passwords, overloaded))
      for (let i = 0; i < 25; i++) {
        const refused = yield* Effect.flip(attempt)
        expect(refused._tag).toBe("PasswordHashingBusy")
      }
      busy = false
      const signedIn = yield* attempt
      expect(signedIn.account.email).toBe(EMAIL)
    }).pipe(Effect.provide(memoryLayer())))
})

describe("refresh", () => {
  it.effect("rotates the refresh token and issues a new access token for the same session", () =>
    Effect.gen(function*() {
      const { account, tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      const refreshed = yield* Auth.refresh(tokens.refreshToken)
      expect(refreshed.tokenType).toBe("Bearer")
      expect(refreshed.expiresIn).toBe(900)
      expect(refreshed.refreshToken).not.toBe(tokens.refreshToken)
      const refreshedActor = yield* actorOf(refreshed.accessToken)
      expect(refreshedActor).toEqual({ userId: account.id, role: "user", sessionId: actor.sessionId })
      // The new token rotates in turn.
      const again = yield* Auth.refresh(refreshed.refreshToken)
      expect(again.refreshToken).not.toBe(refreshed.refreshToken)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("the previous refresh token within the 5 second grace gets the same successor, which keeps working", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const first = yield* Auth.refresh(tokens.refreshToken)
      yield* TestClock.adjust(Duration.seconds(4))
      const second = yield* Auth.refresh(tokens.refreshToken)
      expect(second.refreshToken).not.toBe(tokens.refreshToken)
      // Two tabs that refreshed at once both hold the one current token: neither is signed out.
      expect(second.refreshToken).toBe(first.refreshToken)
      const actor = yield* actorOf(tokens.accessToken)
      expect(yield* isAlive(actor.sessionId)).toBe(true)
      yield* TestClock.adjust(Duration.minutes(10))
      const third = yield* Auth.refresh(first.refreshToken)
      expect(third.refreshToken).not.toBe(first.refreshToken)
      expect(yield* isAlive(actor.sessionId)).toBe(true)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a rotated token replayed after the grace revokes the whole session", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      const newest = yield* Auth.refresh(tokens.refreshToken)
      expect(yield* isAlive(actor.sessionId)).toBe(true)

      yield* TestClock.adjust(Duration.seconds(6))
      const reused = yield* Auth.refresh(tokens.refreshToken).pipe(Effect.flip)
      expect(reused._tag).toBe("RefreshTokenReused")

      const familyRevoked = yield* Auth.refresh(newest.refreshToken).pipe(Effect.flip)
      expect(familyRevoked._tag).toBe("InvalidRefreshToken")
      yield* TestClock.adjust(Duration.millis(600))
      expect(yield* isAlive(actor.sessionId)).toBe(false)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("fails InvalidRefreshToken for garbage and for unknown tokens, without ending the session", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const [sessionId] = tokens.refreshToken.split(".")
      const secret43 = "A".repeat(43)
      for (
        const garbage of [
          "",
          "garbage",
          "a.b",
          `${tokens.refreshToken}.extra`,
          `${"x".repeat(22)}.${secret43}`,
          `${sessionId}.${secret43}`,
          tokens.accessToken
        ]
      ) {
        const error = yield* Auth.refresh(garbage).pipe(Effect.flip)
        expect(error._tag).toBe("InvalidRefreshToken")
      }
      // A wrong secret for a real session is not a replay: the real token still works.
      const refreshed = yield* Auth.refresh(tokens.refreshToken)
      expect(refreshed.refreshToken).not.toBe(tokens.refreshToken)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("fails InvalidRefreshToken for a disabled account and ends its session", () =>
    Effect.gen(function*() {
      const { account, tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      const accounts = yield* AccountsRepository
      yield* accounts.updateAdminFields(account.id, { disabled: true })
      const error = yield* Auth.refresh(tokens.refreshToken).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidRefreshToken")
      expect(yield* isAlive(actor.sessionId)).toBe(false)
      // Re-enabling does not bring the ended session back.
      yield* accounts.updateAdminFields(account.id, { disabled: false })
      const afterEnable = yield* Auth.refresh(tokens.refreshToken).pipe(Effect.flip)
      expect(afterEnable._tag).toBe("InvalidRefreshToken")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a session idle for more than 7 days expires; each refresh restarts the idle time", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      yield* TestClock.adjust(Duration.days(6))
      const first = yield* Auth.refresh(tokens.refreshToken)
      yield* TestClock.adjust(Duration.days(6))
      const second = yield* Auth.refresh(first.refreshToken)
      yield* TestClock.adjust(Duration.sum(Duration.days(7), Duration.seconds(1)))
      const error = yield* Auth.refresh(second.refreshToken).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidRefreshToken")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a session ends after 30 days however often it is refreshed", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      let refreshToken = tokens.refreshToken
      // Days 6, 12, 18, 24, then 29.
      for (const days of [6, 6, 6, 6, 5]) {
        yield* TestClock.adjust(Duration.days(days))
        refreshToken = (yield* Auth.refresh(refreshToken)).refreshToken
      }
      // Day 30: one day since the last refresh, far within the idle lifetime.
      yield* TestClock.adjust(Duration.days(1))
      const error = yield* Auth.refresh(refreshToken).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidRefreshToken")
    }).pipe(Effect.provide(memoryLayer())))
})

describe("access tokens", () => {
  it.effect("verify accepts an issued token until 15 minutes plus 5 seconds of skew", () =>
    Effect.gen(function*() {
      const { account, tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      expect(actor.userId).toBe(account.id)
      expect(actor.role).toBe("user")
      expect(actor.sessionId).toBe(tokens.refreshToken.split(".")[0])

      yield* TestClock.adjust(Duration.sum(Duration.minutes(15), Duration.seconds(4)))
      expect((yield* actorOf(tokens.accessToken)).userId).toBe(account.id)

      yield* TestClock.adjust(Duration.seconds(1))
      const error = yield* actorOf(tokens.accessToken).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidAccessToken")
      expect(error.reason).toBe("expired")
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a token verified (and remembered) before does not vouch for a tampered copy of it", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      const [header, payload, signature] = tokens.accessToken.split(".") as [string, string, string]
      const forgedPayload = base64url({ ...JSON.parse(Buffer.from(payload, "base64url").toString("utf8")), role: "admin" })
      const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`
      for (const tampered of [`${header}.${payload}.${flipped}`, `${header}.${forgedPayload}.${signature}`]) {
        const error = yield* actorOf(tampered).pipe(Effect.flip)
        expect(error._tag).toBe("InvalidAccessToken")
      }
      expect(yield* actorOf(tokens.accessToken)).toEqual(actor)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("verify accepts a hand-signed token with the expected header and claims (control)", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      const token = yield* signAccessToken(actor)
      expect(yield* actorOf(token)).toEqual(actor)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("verify rejects another secret, a wrong typ, iss or aud", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      for (
        const options of [
          { secret: "another-secret-of-at-least-32-characters!!" },
          { typ: "JWT" },
          { iss: "someone-else" },
          { aud: "another-audience" }
        ]
      ) {
        const error = yield* actorOf(yield* signAccessToken(actor, options)).pipe(Effect.flip)
        expect(error._tag, JSON.stringify(options)).toBe("InvalidAccessToken")
        expect(error.reason, JSON.stringify(options)).toBe("invalid")
      }
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("verify rejects an unsigned alg none token", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      const payload = {
        sub: actor.userId,
        sid: actor.sessionId,
        role: "admin",
        iss: "customify-core-api",
        aud: "customify",
        iat: 0,
        exp: 900
      }
      for (const signature of ["", base64url("x")]) {
        const unsigned = `${base64url({ alg: "none", typ: "at+jwt" })}.${base64url(payload)}.${signature}`
        const error = yield* actorOf(unsigned).pipe(Effect.flip)
        expect(error._tag).toBe("InvalidAccessToken")
        expect(error.reason).not.toBe("expired")
      }
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("verify rejects a refresh token and an empty string", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const asAccess = yield* actorOf(tokens.refreshToken).pipe(Effect.flip)
      expect(asAccess._tag).toBe("InvalidAccessToken")
      expect(asAccess.reason).toBe("malformed")
      const empty = yield* actorOf("").pipe(Effect.flip)
      expect(empty.reason).toBe("missing")
    }).pipe(Effect.provide(memoryLayer())))
})

describe("logout", () => {
  it.effect("ends the session: not alive any more and its refresh token fails", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const other = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
      const actor = yield* actorOf(tokens.accessToken)
      const otherActor = yield* actorOf(other.tokens.accessToken)
      expect(yield* isAlive(actor.sessionId)).toBe(true)

      yield* Auth.logout(actor)
      expect(yield* isAlive(actor.sessionId)).toBe(false)
      const error = yield* Auth.refresh(tokens.refreshToken).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidRefreshToken")

      // Only that session ended.
      expect(yield* isAlive(otherActor.sessionId)).toBe(true)
      yield* Auth.refresh(other.tokens.refreshToken)
    }).pipe(Effect.provide(memoryLayer())))
})

describe("password reset", () => {
  /** Runs the worker's half for every enqueued reset job; answers the tokens mailed, in order. */
  const mailedTokens = Effect.gen(function*() {
    const sent = yield* SentMails
    for (const job of yield* enqueuedJobs) {
      if (job._tag === "email.password_reset") yield* PasswordReset.sendPasswordResetMail(job.requestId)
    }
    return (yield* Ref.get(sent)).map((mail) => {
      const link = /https?:\/\/\S+/.exec(mail.text)?.[0]
      return new URL(link!).searchParams.get("token")!
    })
  })
  const onlyToken = Effect.map(mailedTokens, (tokens) => {
    expect(tokens).toHaveLength(1)
    return tokens[0]!
  })

  it.effect("a request for an unknown email succeeds and enqueues nothing", () =>
    Effect.gen(function*() {
      yield* registerAlice
      yield* PasswordReset.requestPasswordReset("nobody@example.com")
      expect(yield* enqueuedJobs).toEqual([])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a request for a disabled account enqueues nothing", () =>
    Effect.gen(function*() {
      const { account } = yield* registerAlice
      yield* (yield* AccountsRepository).updateAdminFields(account.id, { disabled: true })
      yield* PasswordReset.requestPasswordReset(EMAIL)
      expect(yield* enqueuedJobs).toEqual([])
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("the job names the request and carries no token; the worker mails a link valid 30 minutes", () =>
    Effect.gen(function*() {
      yield* registerAlice
      yield* PasswordReset.requestPasswordReset(EMAIL)
      const jobs = yield* enqueuedJobs
      expect(jobs).toEqual([{ _tag: "email.password_reset", requestId: expect.any(String) }])
      const token = yield* onlyToken
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
      const [mail] = yield* Ref.get(yield* SentMails)
      expect(mail!.to).toBe(EMAIL)
      expect(mail!.text).toContain(`http://localhost:3000/reset-password?token=${token}`)
      expect(mail!.text).toContain(new Date(Duration.toMillis(Duration.minutes(30))).toISOString())
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("at most 3 reset mails per account and hour; the fourth request is answered alike and dropped", () =>
    Effect.gen(function*() {
      yield* registerAlice
      for (let i = 0; i < 5; i++) yield* PasswordReset.requestPasswordReset(EMAIL)
      expect(yield* enqueuedJobs).toHaveLength(3)
      yield* TestClock.adjust(Duration.minutes(61))
      yield* PasswordReset.requestPasswordReset(EMAIL)
      expect(yield* enqueuedJobs).toHaveLength(4)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a newer link invalidates the older one; a superseded job mails nothing, even redelivered", () =>
    Effect.gen(function*() {
      yield* registerAlice
      const runJobs = Effect.gen(function*() {
        for (const job of yield* enqueuedJobs) {
          if (job._tag === "email.password_reset") yield* PasswordReset.sendPasswordResetMail(job.requestId)
        }
      })
      const tokens = Effect.map(Effect.flatMap(Effect.service(SentMails), Ref.get), (mails) =>
        mails.map((mail) => new URL(/https?:\/\/\S+/.exec(mail.text)![0]).searchParams.get("token")!))
      yield* PasswordReset.requestPasswordReset(EMAIL)
      yield* runJobs
      const [older] = yield* tokens
      yield* TestClock.adjust(Duration.seconds(1))
      yield* PasswordReset.requestPasswordReset(EMAIL)
      // Both jobs delivered again: the first request is superseded and mails nothing.
      yield* runJobs
      const all = yield* tokens
      expect(all).toHaveLength(2)
      const newer = all[1]!
      const error = yield* PasswordReset.confirmPasswordReset({ token: older!, newPassword: "a brand new password" }).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidResetToken")
      yield* PasswordReset.confirmPasswordReset({ token: newer, newPassword: "a brand new password" })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a redelivered job mints a new token and the first mail's link stops working", () =>
    Effect.gen(function*() {
      yield* registerAlice
      yield* PasswordReset.requestPasswordReset(EMAIL)
      const [job] = yield* enqueuedJobs
      if (job?._tag !== "email.password_reset") throw new Error("no reset job")
      yield* PasswordReset.sendPasswordResetMail(job.requestId)
      yield* PasswordReset.sendPasswordResetMail(job.requestId)
      const [first, second] = (yield* Ref.get(yield* SentMails)).map((mail) => new URL(/https?:\/\/\S+/.exec(mail.text)![0]).searchParams.get("token")!)
      expect(first).not.toBe(second)
      const error = yield* PasswordReset.confirmPasswordReset({ token: first!, newPassword: "a brand new password" }).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidResetToken")
      yield* PasswordReset.confirmPasswordReset({ token: second!, newPassword: "a brand new password" })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("confirm sets the new password, ends every session and works only once", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      yield* PasswordReset.requestPasswordReset(EMAIL)
      const token = yield* onlyToken

      yield* PasswordReset.confirmPasswordReset({ token, newPassword: "a brand new password" })

      const oldPassword = yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP }).pipe(Effect.flip)
      expect(oldPassword._tag).toBe("InvalidCredentials")
      const oldRefresh = yield* Auth.refresh(tokens.refreshToken).pipe(Effect.flip)
      expect(oldRefresh._tag).toBe("InvalidRefreshToken")
      expect(yield* isAlive(actor.sessionId)).toBe(false)
      const newLogin = yield* Auth.login({ email: EMAIL, password: "a brand new password", ip: IP })
      expect(newLogin.tokens.tokenType).toBe("Bearer")

      const second = yield* PasswordReset.confirmPasswordReset({ token, newPassword: "yet another password" }).pipe(
        Effect.flip
      )
      expect(second._tag).toBe("InvalidResetToken")
      yield* Auth.login({ email: EMAIL, password: "a brand new password", ip: IP })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("confirm fails InvalidResetToken for an unknown token", () =>
    Effect.gen(function*() {
      yield* registerAlice
      yield* PasswordReset.requestPasswordReset(EMAIL)
      yield* mailedTokens
      const error = yield* PasswordReset.confirmPasswordReset({ token: "not-a-token", newPassword: "a brand new password" })
        .pipe(Effect.flip)
      expect(error._tag).toBe("InvalidResetToken")
      yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a token still works at 29 minutes", () =>
    Effect.gen(function*() {
      yield* registerAlice
      yield* PasswordReset.requestPasswordReset(EMAIL)
      const token = yield* onlyToken
      yield* TestClock.adjust(Duration.minutes(29))
      yield* PasswordReset.confirmPasswordReset({ token, newPassword: "a brand new password" })
      yield* Auth.login({ email: EMAIL, password: "a brand new password", ip: IP })
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a token confirmed after 31 minutes fails InvalidResetToken and changes nothing", () =>
    Effect.gen(function*() {
      const { tokens } = yield* registerAlice
      yield* PasswordReset.requestPasswordReset(EMAIL)
      const token = yield* onlyToken
      yield* TestClock.adjust(Duration.minutes(31))
      const error = yield* PasswordReset.confirmPasswordReset({ token, newPassword: "a brand new password" }).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidResetToken")
      yield* Auth.login({ email: EMAIL, password: PASSWORD, ip: IP })
      yield* Auth.refresh(tokens.refreshToken)
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a password change voids a reset link mailed before it", () =>
    Effect.gen(function*() {
      const { account, tokens } = yield* registerAlice
      const actor = yield* actorOf(tokens.accessToken)
      yield* PasswordReset.requestPasswordReset(EMAIL)
      const token = yield* onlyToken
      yield* Users.changePassword(actor, { currentPassword: PASSWORD, newPassword: "changed the usual way" })
      const error = yield* PasswordReset.confirmPasswordReset({ token, newPassword: "a brand new password" }).pipe(Effect.flip)
      expect(error._tag).toBe("InvalidResetToken")
      yield* Auth.login({ email: EMAIL, password: "changed the usual way", ip: IP })
      expect(account.id).toBeDefined()
    }).pipe(Effect.provide(memoryLayer())))

  it.effect("a job that runs after the link's lifetime sends nothing", () =>
    Effect.gen(function*() {
      yield* registerAlice
      yield* PasswordReset.requestPasswordReset(EMAIL)
      yield* TestClock.adjust(Duration.minutes(31))
      expect(yield* mailedTokens).toEqual([])
    }).pipe(Effect.provide(memoryLayer())))
})
