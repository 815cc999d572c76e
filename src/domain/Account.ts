import { Schema } from "effect"
import { Timestamp } from "./Primitives.ts"
import type { PlanId } from "./Subscription.ts"
import { AvatarUrl, EmailAddress, MAX_FULL_NAME, Role, UserId } from "./User.ts"

/**
 * A stored account, as a `users` row holds it. `passwordHash` never leaves the server: the API's
 * `User` view is this schema without it.
 */
export const Account = Schema.Struct({
  id: UserId,
  email: EmailAddress,
  passwordHash: Schema.String,
  fullName: Schema.String.check(Schema.isMaxLength(MAX_FULL_NAME)),
  avatarUrl: Schema.NullOr(AvatarUrl),
  role: Role,
  disabled: Schema.Boolean,
  createdAt: Timestamp,
  updatedAt: Timestamp
}).annotate({ identifier: "Account" })
export type Account = typeof Account.Type

/** What registration knows of an account; the account starts on `plan`. */
export type NewAccount = Pick<Account, "id" | "email" | "passwordHash" | "fullName"> & { readonly plan: PlanId }

/** What users may change of their own account. */
export type ProfileChanges = Partial<Pick<Account, "fullName" | "avatarUrl">>

/** What administrators may change of someone else's account. */
export type AdminChanges = Partial<Pick<Account, "role" | "disabled">>
