import { Schema } from "effect"

/** Wrong email or wrong password: deliberately the same error, so accounts cannot be enumerated. */
export class InvalidCredentials extends Schema.TaggedError<InvalidCredentials>()("InvalidCredentials", {}) {}

export class EmailTaken extends Schema.TaggedError<EmailTaken>()("EmailTaken", {}) {}

/** Correct password, but an administrator disabled the account. */
export class AccountDisabled extends Schema.TaggedError<AccountDisabled>()("AccountDisabled", {}) {}

/** No, malformed, forged, expired or otherwise unacceptable access token. */
export class InvalidAccessToken extends Schema.TaggedError<InvalidAccessToken>()("InvalidAccessToken", {
  reason: Schema.Literals(["missing", "malformed", "expired", "invalid"])
}) {}

/** The token is genuine but its session ended (logout, password change, account disabled). */
export class SessionRevoked extends Schema.TaggedError<SessionRevoked>()("SessionRevoked", {}) {}

export class InvalidRefreshToken extends Schema.TaggedError<InvalidRefreshToken>()("InvalidRefreshToken", {}) {}

/** A refresh token that was already rotated came back: treated as theft, the session is revoked. */
export class RefreshTokenReused extends Schema.TaggedError<RefreshTokenReused>()("RefreshTokenReused", {}) {}

export class TooManyLoginAttempts extends Schema.TaggedError<TooManyLoginAttempts>()("TooManyLoginAttempts", {
  retryAfterSeconds: Schema.Int
}) {}

/**
 * Too many password hashes and checks are running or waiting already (PASSWORD_HASH_QUEUE): the
 * request is refused at once instead of queueing past the request timeout. Retryable.
 */
export class PasswordHashingBusy extends Schema.TaggedError<PasswordHashingBusy>()("PasswordHashingBusy", {}) {}

/** Unknown, used or expired password reset token: one error for all three. */
export class InvalidResetToken extends Schema.TaggedError<InvalidResetToken>()("InvalidResetToken", {}) {}

/** Re-authentication (password change, account deletion) with the wrong current password. */
export class IncorrectPassword extends Schema.TaggedError<IncorrectPassword>()("IncorrectPassword", {}) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {}) {}

/** Missing, or not visible to the caller: the two are indistinguishable on purpose. */
export class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", {}) {}
