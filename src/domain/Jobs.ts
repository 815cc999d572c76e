import { Schema } from "effect"
import { DesignId } from "./Design.ts"
import { Uuid } from "./Primitives.ts"
import { UserId } from "./User.ts"

/**
 * Every background job, one schema shared by the producers (the API) and the consumers (this
 * service's worker, the render engine and the PDF workers).
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

export const DesignIndex = Schema.TaggedStruct("design.index", {
  designId: DesignId,
  /** Lets the worker remove a deleted design's vector (a deleted design can no longer be read). */
  ownerId: Schema.optionalKey(UserId)
})

export const RenderJobId = Uuid.pipe(Schema.brand("RenderJobId"))
export type RenderJobId = typeof RenderJobId.Type

export const RenderRequested = Schema.TaggedStruct("render.requested", {
  jobId: RenderJobId,
  designId: DesignId,
  userId: UserId
})

export const PdfRequested = Schema.TaggedStruct("pdf.requested", {
  jobId: RenderJobId,
  designId: DesignId,
  userId: UserId
})

export const Job = Schema.Union([PasswordResetEmail, AccountCleanup, DesignIndex, RenderRequested, PdfRequested])
export type Job = typeof Job.Type

/** Jobs this service's worker runs; the others belong to the render engine and PDF workers. */
export type CoreJob = Extract<Job, { readonly _tag: "email.password_reset" | "account.cleanup" | "design.index" }>
export const isCoreJob = (job: Job): job is CoreJob =>
  job._tag === "email.password_reset" || job._tag === "account.cleanup" || job._tag === "design.index"

export const RenderJobStatus = Schema.Literals(["queued", "processing", "completed", "failed"])
export type RenderJobStatus = typeof RenderJobStatus.Type

export interface RenderJob {
  readonly id: RenderJobId
  readonly ownerId: UserId
  readonly designId: DesignId
  readonly kind: "render" | "pdf"
  readonly status: RenderJobStatus
  readonly resultUrl: string | null
  readonly error: string | null
  readonly createdAt: Date
  readonly updatedAt: Date
}
