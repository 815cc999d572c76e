import { Schema, Struct } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Account } from "../domain/Account.ts"
import { DeviceSession, SessionId } from "../domain/Session.ts"
import { text } from "../domain/Primitives.ts"
import { AvatarUrl, EmailPrefix, FullName, Password, Role, UserId } from "../domain/User.ts"
import { Limit, MAX_PAGE_SIZE } from "./Pagination.ts"
import { Busy, Forbidden, IncorrectPassword, InvalidCursor, NotFound, ServiceUnavailable, TooManyAttempts } from "./Problems.ts"
import { Authentication } from "./Security.ts"

/**
 * A user as the API shows it: the account without its password hash (never a token either).
 * Encoding keeps only these fields, so an `Account` is answered as it is.
 */
export const UserView = Account.mapFields(Struct.omit(["passwordHash"])).annotate({ identifier: "User" })

export const ProfileUpdate = Schema.Struct({
  fullName: Schema.optionalKey(FullName),
  avatarUrl: Schema.optionalKey(Schema.NullOr(AvatarUrl))
}).annotate({ identifier: "ProfileUpdate", description: "Profile fields only; anything else is refused" })

/** Every open session of the caller: MAX_SESSIONS_PER_USER (at most 1000) bounds them, so one page. */
export const SessionList = Schema.Struct({
  data: Schema.Array(DeviceSession).check(Schema.isMaxLength(1000))
}).annotate({ identifier: "SessionList" })

export class MeApi extends HttpApiGroup.make("me")
  .add(
    HttpApiEndpoint.get("get", "/", { success: UserView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "The signed-in user",
      description: "Never carries a password hash or a token."
    })),
    HttpApiEndpoint.patch("update", "/", { payload: ProfileUpdate, success: UserView, error: NotFound }).annotateMerge(OpenApi.annotations({
      summary: "Update the signed-in user's profile",
      description: "Only `fullName` and `avatarUrl` (an https URL, shown by the dashboard and never fetched by this server); any other property is refused with 400."
    })),
    HttpApiEndpoint.put("changePassword", "/password", {
      payload: Schema.Struct({ currentPassword: text(1024), newPassword: Password }),
      success: HttpApiSchema.NoContent,
      error: [IncorrectPassword, NotFound, TooManyAttempts, Busy, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Change the password",
      description: "Needs the current password (403 `incorrect_password`; 10 tries per session in 15 minutes, then 429 `too_many_attempts`). The account's other sessions end. 503 `busy` (with Retry-After) when too many passwords are being checked."
    })),
    HttpApiEndpoint.delete("delete", "/", {
      payload: Schema.Struct({ password: text(1024) }),
      success: HttpApiSchema.NoContent,
      error: [IncorrectPassword, NotFound, TooManyAttempts, Busy, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Delete the account",
      description: "Needs the password (10 tries per session in 15 minutes, then 429 `too_many_attempts`). Every session ends at once; the account's uploads are deleted in the background. 503 `busy` (with Retry-After) when too many passwords are being checked."
    })),
    HttpApiEndpoint.get("listSessions", "/sessions", { success: SessionList, error: ServiceUnavailable }).annotateMerge(
      OpenApi.annotations({
        summary: "List the signed-in devices",
        description: "The caller's open sessions, most recently used first: when each signed in and last refreshed, its User-Agent with a short description, and `current: true` on the session of the access token used."
      })
    ),
    HttpApiEndpoint.delete("deleteSession", "/sessions/:sessionId", {
      params: { sessionId: SessionId },
      success: HttpApiSchema.NoContent,
      error: [NotFound, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Sign a device out",
      description: "Ends the session at once, on every instance: its access token is refused from the next request (401 `session_revoked`) and its refresh token too. The caller's own session may be ended this way. A session that is not one of the caller's open sessions (someone else's, ended, unknown) answers 404."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1/users/me")
  .annotateMerge(OpenApi.annotations({ title: "Users", description: "The signed-in user's own account" }))
{}

/**
 * The cursor of the users list is the base64url of the last email on the page: up to 254
 * UTF-16 units of at most 3 UTF-8 bytes each, so at most 1016 characters.
 */
export const UserPage = Schema.Struct({
  data: Schema.Array(UserView).check(Schema.isMaxLength(MAX_PAGE_SIZE)),
  nextCursor: Schema.NullOr(Schema.String.check(Schema.isPattern(/^[A-Za-z0-9_-]+$/u), Schema.isMaxLength(1016))).annotate({
    description: "Pass as `cursor` for the next page; null on the last page"
  })
}).annotate({ identifier: "UserPage" })

export class AdminApi extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.get("listUsers", "/users", {
      query: {
        limit: Schema.optional(Limit),
        cursor: Schema.optional(text(1016)),
        email: Schema.optional(EmailPrefix)
      },
      success: UserPage,
      error: [Forbidden, InvalidCursor]
    }).annotateMerge(OpenApi.annotations({
      summary: "List users (administrators)",
      description: "Role `admin` only (403 otherwise). Ordered by email, optionally filtered by an email prefix (compared case-insensitively); keyset pagination with `cursor` (a cursor no page answered is 400 `invalid_cursor`)."
    })),
    HttpApiEndpoint.patch("updateUser", "/users/:id", {
      params: { id: UserId },
      payload: Schema.Struct({ role: Schema.optionalKey(Role), disabled: Schema.optionalKey(Schema.Boolean) }),
      success: UserView,
      error: [Forbidden, NotFound, ServiceUnavailable]
    }).annotateMerge(OpenApi.annotations({
      summary: "Change a user's role or disable the account (administrators)",
      description: "Role `admin` only. Every change ends the user's sessions so it applies at once (a retry too); administrators cannot change their own role or status."
    }))
  )
  .middleware(Authentication)
  .prefix("/api/v1/admin")
  .annotateMerge(OpenApi.annotations({ title: "Administration", description: "Role admin only" }))
{}
