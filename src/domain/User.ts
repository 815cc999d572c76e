import { Schema, SchemaTransformation } from "effect"

export const UserId = Schema.String.check(Schema.isUUID()).pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

export const Role = Schema.Literals(["user", "admin"])
export type Role = typeof Role.Type

/** Trimmed and lower-cased before it is checked or stored, so one mailbox is one account. */
export const Email = Schema.Trim.pipe(
  Schema.decodeTo(
    Schema.String.check(
      Schema.isMaxLength(254),
      Schema.isPattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: "Expected an email address like name@example.com" })
    ),
    SchemaTransformation.toLowerCase()
  )
).annotate({ description: "An email address; compared case-insensitively" })

const utf8Length = (s: string) => new TextEncoder().encode(s).length

/**
 * bcrypt reads at most 72 bytes: a longer password is refused, never silently truncated.
 * Bytes, not characters: "é" is two.
 */
export const Password = Schema.String.check(
  Schema.makeFilter((s: string) => utf8Length(s) >= 8 || "Expected at least 8 bytes"),
  Schema.makeFilter((s: string) =>
    utf8Length(s) <= 72 || "Expected at most 72 bytes (bcrypt's limit); use a shorter passphrase")
).annotate({ description: "8 to 72 bytes of UTF-8", format: "password" })

export const FullName = Schema.Trim.pipe(
  Schema.decodeTo(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(120)))
)

/** Only https URLs: an avatar is shown in the dashboard, never fetched by this server. */
export const AvatarUrl = Schema.String.check(
  Schema.isMaxLength(2048),
  Schema.isPattern(/^https:\/\/[^\s]+$/, { message: "Expected an https:// URL" })
)

export class User extends Schema.Class<User>("User")({
  id: UserId,
  email: Schema.String,
  fullName: Schema.String,
  avatarUrl: Schema.NullOr(Schema.String),
  role: Role,
  disabled: Schema.Boolean,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}
