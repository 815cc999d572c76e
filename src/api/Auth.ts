import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Int32, isStorableText, matching, text } from "../domain/Primitives.ts"
import { Email, FullName, Password } from "../domain/User.ts"
import {
  AccountDisabled,
  Busy,
  EmailTaken,
  InvalidCredentials,
  InvalidRefreshToken,
  InvalidResetToken,
  RefreshTokenReused,
  ServiceUnavailable,
  TooManyAttempts
} from "./Problems.ts"
import { Authentication } from "./Security.ts"
import { UserView } from "./Users.ts"

/** The longest access token the server accepts back (AccessTokens.verify): it never issues longer. */
export const MAX_ACCESS_TOKEN_LENGTH = 4096

export const Tokens = Schema.Struct({
  accessToken: matching(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/u, MAX_ACCESS_TOKEN_LENGTH).annotate({
    description: "A JWT (JWS compact serialization); send as Authorization: Bearer <token>"
  }),
  refreshToken: matching(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/u, 512).annotate({
    description: "Opaque; single use (each refresh answers a new one)"
  }),
  tokenType: Schema.Literal("Bearer"),
  expiresIn: Int32.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "Seconds until the access token expires" })
}).annotate({ identifier: "Tokens" })

export const SignedIn = Schema.Struct({ user: UserView, tokens: Tokens }).annotate({ identifier: "SignedIn" })

/** An opaque token: bounded so that junk is refused before any work. */
const OpaqueToken = Schema.String.check(isStorableText, Schema.isMinLength(1), Schema.isMaxLength(512))

export class AuthApi extends HttpApiGroup.make("auth")
  .add(
    HttpApiEndpoint.post("register", "/register", {
      payload: Schema.Struct({ email: Email, password: Password, fullName: FullName }),
      success: SignedIn.pipe(HttpApiSchema.status(201)),
      error: [EmailTaken, AccountDisabled, Busy, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Create an account and sign in",
      description: "Creates a user with an active free subscription and answers the user and their tokens. 409 `email_taken` when the email is registered already; 403 `account_disabled` if an administrator disabled the new account before its first session started; 503 `busy` (with Retry-After) when too many passwords are being hashed."
    })),
    HttpApiEndpoint.post("login", "/login", {
      payload: Schema.Struct({ email: Email, password: text(1024) }),
      success: SignedIn,
      error: [InvalidCredentials, AccountDisabled, TooManyAttempts, Busy, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Sign in with email and password",
      description: "A wrong email and a wrong password answer alike (401 `invalid_credentials`). 10 failed attempts for one email from one address (an IPv6 address counts as its /64) within 15 minutes lock that pair. Beyond 50 failed attempts for one email from all addresses together within 15 minutes, only networks that signed in to the account within the last 30 days may keep trying. Both answer 429 `too_many_attempts` with Retry-After. Attempts are counted before the password is checked: when they cannot be counted, right and wrong passwords alike answer 503. 503 `busy` (with Retry-After) when too many passwords are being checked."
    })),
    HttpApiEndpoint.post("refresh", "/refresh", {
      payload: Schema.Struct({ refreshToken: OpaqueToken }),
      success: Schema.Struct({ tokens: Tokens }),
      error: [InvalidRefreshToken, RefreshTokenReused, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Exchange a refresh token for new tokens",
      description: "Refresh tokens rotate on every use; the new access token carries the account's current role. The same token presented again within 5 s (two tabs at once) answers the same new token; after that it ends the whole session: 401 `refresh_token_reused`."
    })),
    HttpApiEndpoint.post("requestPasswordReset", "/password-reset/request", {
      payload: Schema.Struct({ email: Email }),
      success: HttpApiSchema.Accepted,
      error: ServiceUnavailable
    }).annotateMerge(OpenApi.annotations({
      summary: "Request a password reset email",
      description: "Always 202, whether or not the account exists. Emails a single-use link valid 30 minutes; at most 3 mails per account and hour (further requests are answered alike and dropped)."
    })),
    HttpApiEndpoint.post("confirmPasswordReset", "/password-reset/confirm", {
      payload: Schema.Struct({ token: OpaqueToken, newPassword: Password }),
      success: HttpApiSchema.NoContent,
      error: [InvalidResetToken, Busy, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Set a new password with a reset token",
      description: "The token is single use and valid 30 minutes; a newer link or a completed reset makes it invalid. The password is set and every session of the account ends in one step. 503 `busy` (with Retry-After) when too many passwords are being hashed."
    }))
  )
  .add(
    HttpApiEndpoint.post("logout", "/logout", {
      success: HttpApiSchema.NoContent,
      error: ServiceUnavailable
    }).annotateMerge(OpenApi.annotations({
      summary: "Sign out",
      description: "Ends the session of the access token on every instance; its refresh token stops working."
    })).middleware(Authentication)
  )
  .prefix("/api/v1/auth")
  .annotateMerge(OpenApi.annotations({ title: "Authentication", description: "Sign up, sign in, tokens, password reset" }))
{}
