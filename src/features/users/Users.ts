import { Clock, Effect, Option, Schema } from "effect"
import { Transactions } from "../../capabilities/database/Transactions.ts"
import { JobQueue } from "../../capabilities/queue/JobQueue.ts"
import type { Account, AdminChanges, ProfileChanges } from "../../domain/Account.ts"
import { Forbidden, IncorrectPassword, UserNotFound } from "../../domain/AuthErrors.ts"
import { type Actor, authorize } from "../../domain/Policy.ts"
import { makeTextCursor } from "../../domain/Pagination.ts"
import { isStorableText } from "../../domain/Primitives.ts"
import { describeClient, type DeviceSession, SessionNotFound } from "../../domain/Session.ts"
import { EmailAddress, type UserId } from "../../domain/User.ts"
import { Passwords } from "../accounts/Passwords.ts"
import { Sessions } from "../accounts/Sessions.ts"
import { AccountsRepository } from "../accounts/AccountsRepository.ts"
import { LoginThrottle } from "../auth/LoginThrottle.ts"
import { PasswordResetsRepository } from "../accounts/PasswordResetsRepository.ts"

const orNotFound = <A, E, R>(effect: Effect.Effect<Option.Option<A>, E, R>) =>
  Effect.flatMap(effect, Option.match({ onNone: () => Effect.fail(new UserNotFound()), onSome: Effect.succeed }))

export const getMe = Effect.fn("getMe")(function*(actor: Actor) {
  return yield* orNotFound((yield* AccountsRepository).findById(actor.userId))
})

export const updateProfile = Effect.fn("updateProfile")(function*(actor: Actor, changes: ProfileChanges) {
  const accounts = yield* AccountsRepository
  if (Object.keys(changes).length === 0) return yield* orNotFound(accounts.findById(actor.userId))
  return yield* orNotFound(accounts.updateProfile(actor.userId, changes))
})

/**
 * Re-authentication is counted like a sign-in (the login throttle), per session: a stolen access
 * token gets MAX_FAILED_LOGINS guesses of the password per window, not one per request.
 */
const reauthenticate = Effect.fnUntraced(function*(actor: Actor, account: Account, password: string) {
  yield* (yield* LoginThrottle).attempt(account.email, `session:${actor.sessionId}`)
  if (!(yield* (yield* Passwords).verify(password, account.passwordHash))) return yield* new IncorrectPassword()
})

/** Re-authenticates with the current password; every other session of the account ends. */
export const changePassword = Effect.fn("changePassword")(function*(actor: Actor, input: {
  readonly currentPassword: string
  readonly newPassword: string
}) {
  const passwords = yield* Passwords
  const accounts = yield* AccountsRepository
  const account = yield* orNotFound(accounts.findById(actor.userId))
  yield* reauthenticate(actor, account, input.currentPassword)
  const passwordHash = yield* passwords.hash(input.newPassword)
  const sessions = yield* Sessions
  const resets = yield* PasswordResetsRepository
  // Users' row, then sessions' rows: the order every revocation locks them in.
  const revoked = yield* (yield* Transactions).atomically(Effect.gen(function*() {
    if (!(yield* accounts.lockWithPassword(account.id, account.passwordHash))) return yield* new IncorrectPassword()
    yield* sessions.holdOpen(actor)
    yield* accounts.setPasswordHash(account.id, passwordHash)
    // A reset link mailed before would otherwise still set a password for 30 minutes.
    yield* resets.spendAllOf(account.id, new Date(yield* Clock.currentTimeMillis))
    return yield* sessions.revokeAllOf(account.id, "password", { except: actor.sessionId })
  }))
  yield* sessions.announce(revoked)
})

/**
 * Re-authenticates, then in one transaction ends the account's sessions, deletes it and
 * everything it owns, and enqueues the cleanup of its stored files.
 */
export const deleteAccount = Effect.fn("deleteAccount")(function*(actor: Actor, password: string) {
  const accounts = yield* AccountsRepository
  const account = yield* orNotFound(accounts.findById(actor.userId))
  yield* reauthenticate(actor, account, password)
  const queue = yield* JobQueue
  const sessions = yield* Sessions
  const revoked = yield* (yield* Transactions).atomically(Effect.gen(function*() {
    // Only while the password just verified is current and this session open (a reset or a
    // password change elsewhere wins); users' row, then sessions' rows, as every revocation.
    if (!(yield* accounts.lockWithPassword(account.id, account.passwordHash))) return yield* new IncorrectPassword()
    yield* sessions.holdOpen(actor)
    // Revoked before the rows go, so that every instance can be told.
    const revoked = yield* sessions.revokeAllOf(account.id, "account_deleted")
    yield* accounts.delete(account.id)
    yield* queue.enqueue({ _tag: "account.cleanup", userId: account.id })
    return revoked
  }))
  yield* sessions.announce(revoked)
})

export interface AccountPage {
  readonly data: ReadonlyArray<Account>
  readonly nextCursor: string | null
}

/**
 * Opaque to clients: base64url of the last email of a page. It decodes to an email as stored
 * (lower-case, no NUL), or it is no cursor of ours (`InvalidCursor`).
 */
const Cursor = makeTextCursor(EmailAddress.check(isStorableText, Schema.isLowercased()))

/** Administrators only; keyset pagination by email, optionally filtered by an email prefix. */
export const listAccounts = Effect.fn("listAccounts")(function*(actor: Actor, request: {
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
  readonly emailPrefix?: string | undefined
}) {
  yield* authorize(actor, { kind: "user-administration" }, "read")
  const limit = request.limit ?? 20
  const rows = yield* (yield* AccountsRepository).list({
    limit: limit + 1,
    afterEmail: request.cursor === undefined ? undefined : yield* Cursor.decode(request.cursor),
    emailPrefix: request.emailPrefix?.toLowerCase()
  })
  const data = rows.slice(0, limit)
  return {
    data,
    nextCursor: rows.length > limit ? Cursor.encode(data[data.length - 1]!.email) : null
  } satisfies AccountPage
})

/**
 * Administrators only. Every change ends the account's sessions in the same transaction, so it
 * applies to its tokens at once, also when a retry finds the role already changed.
 * Administrators cannot change their own role or status.
 */
export const updateAccount = Effect.fn("updateAccount")(function*(actor: Actor, id: UserId, changes: AdminChanges) {
  yield* authorize(actor, { kind: "user-administration" }, "write")
  if (id === actor.userId && Object.keys(changes).length > 0) return yield* new Forbidden()
  const accounts = yield* AccountsRepository
  if (Object.keys(changes).length === 0) return yield* orNotFound(accounts.findById(id))
  const sessions = yield* Sessions
  const resets = yield* PasswordResetsRepository
  const { after, revoked } = yield* (yield* Transactions).atomically(Effect.gen(function*() {
    const after = yield* orNotFound(accounts.updateAdminFields(id, changes))
    // An administrator's change also voids reset links mailed before it (a re-enabled account
    // does not get back a link from before its ban).
    yield* resets.spendAllOf(id, new Date(yield* Clock.currentTimeMillis))
    const revoked = yield* sessions.revokeAllOf(id, after.disabled ? "account_disabled" : "administrator")
    return { after, revoked }
  }))
  yield* sessions.announce(revoked)
  return after
})

/** The caller's signed-in devices, most recently used first; `current` marks the caller's own. */
export const listSessions = Effect.fn("listSessions")(function*(actor: Actor) {
  const open = yield* (yield* Sessions).listOpen(actor.userId)
  return open.map((session): DeviceSession => ({
    id: session.id,
    createdAt: session.createdAt,
    lastUsedAt: session.lastUsedAt,
    userAgent: session.client,
    description: describeClient(session.client),
    current: session.id === actor.sessionId
  }))
})

/**
 * Signs that device out at once (its access and refresh tokens are refused on every instance),
 * the caller's own session included. Someone else's session is `SessionNotFound`, like a
 * missing or already ended one.
 */
export const signOutSession = Effect.fn("signOutSession")(function*(actor: Actor, sessionId: string) {
  if (!(yield* (yield* Sessions).endOne(actor.userId, sessionId))) return yield* new SessionNotFound()
})
