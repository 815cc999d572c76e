import { createHash, randomBytes, randomUUID } from "node:crypto"
import { Clock, Duration, Effect, Option } from "effect"
import { Transactions } from "../../capabilities/database/Transactions.ts"
import { JobQueue } from "../../capabilities/queue/JobQueue.ts"
import type { Account } from "../../domain/Account.ts"
import {
  AccountDisabled,
  EmailTaken,
  InvalidCredentials,
  InvalidRefreshToken,
  InvalidResetToken
} from "../../domain/AuthErrors.ts"
import type { Actor } from "../../domain/Policy.ts"
import type { UserId } from "../../domain/User.ts"
import { AccountsRepository } from "../accounts/AccountsRepository.ts"
import { AccessTokens } from "./AccessTokens.ts"
import { LoginThrottle } from "./LoginThrottle.ts"
import { Passwords } from "../accounts/Passwords.ts"
import { Sessions } from "../accounts/Sessions.ts"

export const PASSWORD_RESET_TTL = Duration.minutes(30)

export interface IssuedTokens {
  readonly accessToken: string
  readonly refreshToken: string
  readonly tokenType: "Bearer"
  readonly expiresIn: number
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("base64url")

const tokensFor = Effect.fnUntraced(function*(actor: Actor, refreshToken: string) {
  const access = yield* (yield* AccessTokens).issue(actor)
  return {
    accessToken: access.token,
    refreshToken,
    tokenType: "Bearer",
    expiresIn: access.expiresInSeconds
  } satisfies IssuedTokens
})

/** A new session for the account, and its first token pair. */
const signIn = Effect.fnUntraced(function*(account: Account) {
  const session = yield* (yield* Sessions).start({ id: account.id, role: account.role })
  return { account, tokens: yield* tokensFor(session.actor, session.refreshToken) }
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
  return yield* signIn(account)
})

/**
 * Wrong email and wrong password are the same `InvalidCredentials`, in the same time (an unknown
 * email is checked against a dummy hash). A disabled account is told so only after its password
 * was proven.
 */
export const login = Effect.fn("login")(function*(input: {
  readonly email: string
  readonly password: string
  readonly ip: string
}) {
  const throttle = yield* LoginThrottle
  const passwords = yield* Passwords
  yield* throttle.attempt(input.email, input.ip)
  const found = yield* (yield* AccountsRepository).findByEmail(input.email)
  const valid = yield* Option.match(found, {
    onNone: () => passwords.verifyUnknownUser(input.password),
    onSome: (account) => passwords.verify(input.password, account.passwordHash)
  })
  if (!valid || Option.isNone(found)) return yield* new InvalidCredentials()
  if (found.value.disabled) return yield* new AccountDisabled()
  yield* throttle.reset(input.email, input.ip)
  return yield* signIn(found.value)
})

/** Rotates the refresh token; the account must still exist and be enabled. */
export const refresh = Effect.fn("refresh")(function*(refreshToken: string) {
  const sessions = yield* Sessions
  const session = yield* sessions.refresh(refreshToken)
  const account = yield* (yield* AccountsRepository).findById(session.actor.userId)
  if (Option.isNone(account) || account.value.disabled) {
    yield* sessions.end(session.actor)
    return yield* new InvalidRefreshToken()
  }
  return yield* tokensFor(session.actor, session.refreshToken)
})

export const logout = Effect.fn("logout")(function*(actor: Actor) {
  yield* (yield* Sessions).end(actor)
})

/**
 * Always succeeds, whether or not the email has an account (no enumeration). For an enabled
 * account, stores the hash of a single-use token and enqueues the email carrying the token.
 */
export const requestPasswordReset = Effect.fn("requestPasswordReset")(function*(email: string) {
  const found = yield* (yield* AccountsRepository).findByEmail(email)
  if (Option.isNone(found) || found.value.disabled) return
  const token = randomBytes(32).toString("base64url")
  const expiresAt = new Date((yield* Clock.currentTimeMillis) + Duration.toMillis(PASSWORD_RESET_TTL))
  const accounts = yield* AccountsRepository
  const queue = yield* JobQueue
  yield* (yield* Transactions).atomically(Effect.andThen(
    accounts.createResetToken(sha256(token), found.value.id, expiresAt),
    queue.enqueue({
      _tag: "email.password_reset",
      userId: found.value.id,
      email: found.value.email,
      token,
      expiresAt: expiresAt.toISOString()
    })
  ))
})

/** Uses the token (once), sets the new password and ends every session of the account. */
export const confirmPasswordReset = Effect.fn("confirmPasswordReset")(function*(input: {
  readonly token: string
  readonly newPassword: string
}) {
  const accounts = yield* AccountsRepository
  const userId = yield* Effect.flatMap(accounts.consumeResetToken(sha256(input.token)), Option.match({
    onNone: () => Effect.fail(new InvalidResetToken()),
    onSome: Effect.succeed
  }))
  yield* accounts.setPasswordHash(userId, yield* (yield* Passwords).hash(input.newPassword))
  yield* (yield* Sessions).endAllOf(userId)
})
