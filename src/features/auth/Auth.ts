import { randomUUID } from "node:crypto"
import { Effect, Option } from "effect"
import type { Account } from "../../domain/Account.ts"
import { AccountDisabled, EmailTaken, InvalidCredentials, PasswordHashingBusy } from "../../domain/AuthErrors.ts"
import type { Actor } from "../../domain/Policy.ts"
import type { UserId } from "../../domain/User.ts"
import { AccountsRepository } from "../accounts/AccountsRepository.ts"
import { AccessTokens } from "./AccessTokens.ts"
import { LoginThrottle } from "./LoginThrottle.ts"
import { Passwords } from "../accounts/Passwords.ts"
import { Sessions } from "../accounts/Sessions.ts"

export interface IssuedTokens {
  readonly accessToken: string
  readonly refreshToken: string
  readonly tokenType: "Bearer"
  readonly expiresIn: number
}

const tokensFor = Effect.fnUntraced(function*(actor: Actor, refreshToken: string) {
  const access = yield* (yield* AccessTokens).issue(actor)
  return {
    accessToken: access.token,
    refreshToken,
    tokenType: "Bearer",
    expiresIn: access.expiresInSeconds
  } satisfies IssuedTokens
})

/**
 * A new session for the account, and its first token pair. The session starts only while the
 * password just verified is still the account's and it is enabled; the account answered carries
 * the role the session was started with.
 */
const signIn = Effect.fnUntraced(function*(account: Account, client: string | undefined) {
  const session = yield* (yield* Sessions).start(account, client)
  return { account: { ...account, role: session.actor.role }, tokens: yield* tokensFor(session.actor, session.refreshToken) }
})

/**
 * A new account on the free plan, signed in. A registered email is refused before any bcrypt
 * work (a hash costs a thread for about 250 ms; the lookup, one indexed read); the unique
 * constraint still decides a race between two registrations of one email.
 */
export const register = Effect.fn("register")(function*(input: {
  readonly email: string
  readonly password: string
  readonly fullName: string
  readonly client?: string | undefined
}) {
  const accounts = yield* AccountsRepository
  if (Option.isSome(yield* accounts.findByEmail(input.email))) return yield* new EmailTaken()
  const passwordHash = yield* (yield* Passwords).hash(input.password)
  const account = yield* accounts.create({
    id: randomUUID() as UserId,
    email: input.email,
    passwordHash,
    fullName: input.fullName,
    plan: "free"
  })
  // Only an administrator disabling the account a moment after its creation can refuse this session.
  return yield* signIn(account, input.client).pipe(Effect.catchTag("InvalidCredentials", () => Effect.fail(new AccountDisabled())))
})

/**
 * Wrong email and wrong password are the same `InvalidCredentials`, in the same time (an unknown
 * email is checked against a dummy hash). A disabled account is told so only after its password
 * was proven. The attempt is counted (LoginThrottle) before anything else: when it cannot be
 * counted, the password is never checked, so right and wrong passwords answer alike.
 */
export const login = Effect.fn("login")(function*(input: {
  readonly email: string
  readonly password: string
  readonly ip: string
  readonly client?: string | undefined
}) {
  const throttle = yield* LoginThrottle
  const passwords = yield* Passwords
  // Refused before any other work while hashing is saturated: a storm costs no database round trip.
  if (yield* passwords.saturated) return yield* new PasswordHashingBusy()
  yield* throttle.attempt(input.email, input.ip)
  const found = yield* (yield* AccountsRepository).findByEmail(input.email)
  const valid = yield* Option.match(found, {
    onNone: () => passwords.verifyUnknownUser(input.password),
    onSome: (account) => passwords.verify(input.password, account.passwordHash)
  }).pipe(
    // Refused before any check: not a failed attempt, or an overload would lock users out.
    Effect.tapErrorTag("PasswordHashingBusy", () => throttle.unchecked(input.email, input.ip))
  )
  if (!valid || Option.isNone(found)) return yield* new InvalidCredentials()
  if (found.value.disabled) return yield* new AccountDisabled()
  yield* throttle.succeeded(input.email, input.ip)
  return yield* signIn(found.value, input.client)
})

/** Rotates the refresh token; the new access token carries the account's current role. */
export const refresh = Effect.fn("refresh")(function*(refreshToken: string) {
  const session = yield* (yield* Sessions).refresh(refreshToken)
  return yield* tokensFor(session.actor, session.refreshToken)
})

export const logout = Effect.fn("logout")(function*(actor: Actor) {
  yield* (yield* Sessions).end(actor)
})
