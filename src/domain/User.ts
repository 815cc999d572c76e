import { Schema, SchemaTransformation } from "effect"
import { isStorableText, matching, trimmedInput, Uuid } from "./Primitives.ts"

export const UserId = Uuid.pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

export const Role = Schema.Literals(["user", "admin"])
export type Role = typeof Role.Type

export const MAX_EMAIL_LENGTH = 254
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u

/**
 * Trimmed and lower-cased before it is checked or stored, so one mailbox is one account. At
 * most 254 characters, as sent and as stored.
 */
export const Email = trimmedInput(MAX_EMAIL_LENGTH, "An email address; compared case-insensitively").pipe(
  Schema.decodeTo(
    Schema.String.check(
      Schema.isMaxLength(MAX_EMAIL_LENGTH),
      Schema.isPattern(EMAIL_PATTERN, { message: "Expected an email address like name@example.com" })
    ),
    SchemaTransformation.toLowerCase()
  )
)

/** The start of an email, for searches: compared like emails, so lower-cased. */
export const EmailPrefix = Schema.String.annotate({ description: "Email prefix; compared case-insensitively" }).check(
  isStorableText,
  Schema.isMaxLength(MAX_EMAIL_LENGTH)
).pipe(Schema.decodeTo(Schema.String, SchemaTransformation.toLowerCase()))

/** An email address as stored (every one went through `Email`): what responses carry. */
export const EmailAddress = matching(EMAIL_PATTERN, MAX_EMAIL_LENGTH)

const utf8Length = (s: string) => new TextEncoder().encode(s).length

/**
 * bcrypt reads at most 72 bytes: a longer password is refused, never silently truncated.
 * Bytes, not characters: "é" is two.
 */
export const Password = Schema.String.annotate({ description: "8 to 72 bytes of UTF-8", format: "password" }).check(
  isStorableText,
  Schema.makeFilter((s: string) => utf8Length(s) >= 8 || "Expected at least 8 bytes"),
  Schema.makeFilter(
    (s: string) => utf8Length(s) <= 72 || "Expected at most 72 bytes (bcrypt's limit); use a shorter passphrase",
    undefined,
    true
  ),
  // Implied by the 72 bytes (a UTF-16 unit is at least one byte), stated for the document.
  Schema.isMaxLength(72)
)

export const MAX_FULL_NAME = 120

export const FullName = trimmedInput(MAX_FULL_NAME).pipe(
  Schema.decodeTo(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(MAX_FULL_NAME)))
)

/** Only https URLs: an avatar is shown in the dashboard, never fetched by this server. */
export const AvatarUrl = Schema.String.check(
  isStorableText,
  Schema.isMaxLength(2048),
  Schema.isPattern(/^https:\/\/[^\s]+$/u, { message: "Expected an https:// URL" })
)
