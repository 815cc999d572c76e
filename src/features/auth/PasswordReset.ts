import { createHash, randomBytes, randomUUID } from "node:crypto"
import { Clock, Data, Duration, Effect, Option } from "effect"
import { Transactions } from "../../capabilities/database/Transactions.ts"
import { Mailer } from "../../capabilities/mail/Mailer.ts"
import { JobQueue } from "../../capabilities/queue/JobQueue.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { InvalidResetToken } from "../../domain/AuthErrors.ts"
import { AccountsRepository } from "../accounts/AccountsRepository.ts"
import { Passwords } from "../accounts/Passwords.ts"
import { Sessions } from "../accounts/Sessions.ts"
import { PasswordResetsRepository } from "../accounts/PasswordResetsRepository.ts"

export const PASSWORD_RESET_TTL = Duration.minutes(30)

/**
 * The job's request is not there: not committed yet (SQS can deliver a job sent inside a
 * transaction before it commits), or its account was deleted. Failing retries the job with
 * backoff; a request that never appears is dead-lettered after JOB_MAX_ATTEMPTS.
 */
export class ResetRequestNotFound extends Data.TaggedError("ResetRequestNotFound")<{ readonly requestId: string }> {}
/** Reset mails one account can be sent per hour; further requests are answered alike and dropped. */
export const RESET_MAILS_PER_HOUR = 3
/** How long a reset request is kept (for the hourly limit), then deleted by the housekeeping. */
export const RESET_REQUEST_RETENTION = Duration.days(1)

const sha256 = (value: string) => createHash("sha256").update(value).digest("base64url")
const at = (millis: number) => new Date(millis)

/**
 * Always succeeds, whether or not the email has an account (no enumeration). For an enabled
 * account within its hourly limit, records a request and enqueues its mail job, which names the
 * request and carries no token.
 */
export const requestPasswordReset = Effect.fn("requestPasswordReset")(function*(email: string) {
  const found = yield* (yield* AccountsRepository).findByEmail(email)
  if (Option.isNone(found) || found.value.disabled) return
  const now = yield* Clock.currentTimeMillis
  const requests = yield* PasswordResetsRepository
  const queue = yield* JobQueue
  const requestId = randomUUID()
  yield* (yield* Transactions).atomically(Effect.gen(function*() {
    const recorded = yield* requests.request(
      { id: requestId, userId: found.value.id, now: at(now) },
      { count: RESET_MAILS_PER_HOUR, since: at(now - Duration.toMillis(Duration.hours(1))) }
    )
    if (recorded) yield* queue.enqueue({ _tag: "email.password_reset", requestId }, { id: requestId })
    else yield* Effect.logInfo("auth: password reset limit reached, request dropped")
  }))
})

/**
 * The worker's half: mints the request's token, stores its hash (older links stop working) and
 * mails the link. A request that was superseded, spent, is older than the token's lifetime or
 * whose account was disabled is skipped; one not found (yet) fails the job, which is retried.
 * A retried job mints a new token, so only the last mail sent works.
 */
export const sendPasswordResetMail = Effect.fn("sendPasswordResetMail")(function*(requestId: string) {
  const now = yield* Clock.currentTimeMillis
  const token = randomBytes(32).toString("base64url")
  const expiresAt = at(now + Duration.toMillis(PASSWORD_RESET_TTL))
  const minted = yield* (yield* PasswordResetsRepository).mint({
    requestId,
    tokenHash: sha256(token),
    expiresAt,
    requestedAfter: at(now - Duration.toMillis(PASSWORD_RESET_TTL))
  })
  if (minted._tag === "Absent") return yield* new ResetRequestNotFound({ requestId })
  if (minted._tag === "Skipped") return yield* Effect.logInfo("jobs: password reset request no longer valid, skipped")
  const link = new URL((yield* AppConfig).passwordResetUrl)
  link.searchParams.set("token", token)
  yield* (yield* Mailer).send({
    to: minted.email,
    subject: "Reset your Customify password",
    text: [
      "Someone (hopefully you) asked to reset the password of your Customify account.",
      "",
      `Choose a new password here: ${link.href}`,
      "",
      `The link works once, until ${expiresAt.toISOString()}. If you did not ask for it, ignore this mail:`,
      "your password stays as it is."
    ].join("\n")
  })
})

/**
 * Spends the token, sets the new password and ends every session of the account, in one
 * transaction. The token is checked before the (slow) hashing and spent after it, atomically.
 */
export const confirmPasswordReset = Effect.fn("confirmPasswordReset")(function*(input: {
  readonly token: string
  readonly newPassword: string
}) {
  const requests = yield* PasswordResetsRepository
  const tokenHash = sha256(input.token)
  const orInvalid = <A, E, R>(found: Effect.Effect<Option.Option<A>, E, R>) =>
    Effect.flatMap(found, Option.match({ onNone: () => Effect.fail(new InvalidResetToken()), onSome: Effect.succeed }))
  yield* orInvalid(requests.find(tokenHash, at(yield* Clock.currentTimeMillis)))
  const passwordHash = yield* (yield* Passwords).hash(input.newPassword)
  const accounts = yield* AccountsRepository
  const sessions = yield* Sessions
  const revoked = yield* (yield* Transactions).atomically(Effect.gen(function*() {
    const userId = yield* orInvalid(requests.spend(tokenHash, at(yield* Clock.currentTimeMillis)))
    yield* accounts.setPasswordHash(userId, passwordHash)
    return yield* sessions.revokeAllOf(userId, "password")
  }))
  yield* sessions.announce(revoked)
})
