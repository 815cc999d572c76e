import { Schema } from "effect"
import { UserId } from "./User.ts"

/**
 * Every background job, one schema shared by the producers (the API) and the consumers
 * (the worker and other services).
 */
export const PasswordResetEmail = Schema.TaggedStruct("email.password_reset", {
  userId: UserId,
  email: Schema.String,
  /** The single-use token itself: the only copy outside the user's mailbox (the database keeps a hash). */
  token: Schema.String,
  expiresAt: Schema.String
})

export const AccountCleanup = Schema.TaggedStruct("account.cleanup", {
  userId: UserId
})

export const Job = Schema.Union([PasswordResetEmail, AccountCleanup])
export type Job = typeof Job.Type
