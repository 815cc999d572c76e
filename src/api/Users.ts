import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AvatarUrl, FullName, Password, Role, UserId } from "../domain/User.ts"
import { Forbidden, IncorrectPassword, NotFound, ServiceUnavailable } from "./Problems.ts"
import { Authentication } from "./Security.ts"

/** A user as the API shows it: never a password hash, never a token. */
export const UserView = Schema.Struct({
  id: UserId,
  email: Schema.String,
  fullName: Schema.String,
  avatarUrl: Schema.NullOr(Schema.String),
  role: Role,
  disabled: Schema.Boolean,
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotate({ identifier: "User" })

export const ProfileUpdate = Schema.Struct({
  fullName: Schema.optionalKey(FullName),
  avatarUrl: Schema.optionalKey(Schema.NullOr(AvatarUrl))
}).annotate({ identifier: "ProfileUpdate", description: "Profile fields only; anything else is refused" })

export class MeApi extends HttpApiGroup.make("me")
  .add(
    HttpApiEndpoint.get("get", "/", { success: UserView, error: NotFound }),
    HttpApiEndpoint.patch("update", "/", { payload: ProfileUpdate, success: UserView, error: NotFound }),
    HttpApiEndpoint.put("changePassword", "/password", {
      payload: Schema.Struct({ currentPassword: Schema.String.check(Schema.isMaxLength(1024)), newPassword: Password }),
      success: HttpApiSchema.NoContent,
      error: [IncorrectPassword, NotFound, ServiceUnavailable]
    }),
    HttpApiEndpoint.delete("delete", "/", {
      payload: Schema.Struct({ password: Schema.String.check(Schema.isMaxLength(1024)) }),
      success: HttpApiSchema.NoContent,
      error: [IncorrectPassword, NotFound, ServiceUnavailable]
    })
  )
  .middleware(Authentication)
  .prefix("/api/v1/users/me")
  .annotateMerge(OpenApi.annotations({ title: "Users", description: "The signed-in user's own account" }))
{}

export const UserPage = Schema.Struct({
  data: Schema.Array(UserView),
  nextCursor: Schema.NullOr(Schema.String)
}).annotate({ identifier: "UserPage" })

export class AdminApi extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.get("listUsers", "/users", {
      query: {
        limit: Schema.optional(Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: 1, maximum: 100 }))),
        cursor: Schema.optional(Schema.String.check(Schema.isMaxLength(512))),
        email: Schema.optional(Schema.String.check(Schema.isMaxLength(254))).annotate({ description: "Email prefix" })
      },
      success: UserPage,
      error: Forbidden
    }),
    HttpApiEndpoint.patch("updateUser", "/users/:id", {
      params: { id: UserId },
      payload: Schema.Struct({ role: Schema.optionalKey(Role), disabled: Schema.optionalKey(Schema.Boolean) }),
      success: UserView,
      error: [Forbidden, NotFound, ServiceUnavailable]
    })
  )
  .middleware(Authentication)
  .prefix("/api/v1/admin")
  .annotateMerge(OpenApi.annotations({ title: "Administration", description: "Role admin only" }))
{}
