import { Schema } from "effect"
import { DesignId } from "./Design.ts"
import { isStorableText, text, Timestamp, Uuid } from "./Primitives.ts"
import { UserId } from "./User.ts"

/**
 * Every background job, one schema shared by the producers (the API) and the consumers (this
 * service's worker, the render engine and the PDF workers).
 */
export const PasswordResetEmail = Schema.TaggedStruct("email.password_reset", {
  /** The reset request; the worker mints its token, so no token is ever in a queue. */
  requestId: Uuid
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

export const RenderJobKind = Schema.Literals(["render", "pdf"])
export type RenderJobKind = typeof RenderJobKind.Type

/** Where the rendered file is: an https URL the render engine reported. */
const ResultUrl = Schema.String.check(isStorableText, Schema.isMaxLength(2048), Schema.isPattern(/^https:\/\//u))
/** Why the job failed, as the render engine reported it. */
const JobError = text(2000)

/** A render or PDF request, and the progress the render engine or PDF workers reported. */
export const RenderJob = Schema.Struct({
  id: RenderJobId,
  ownerId: UserId,
  designId: DesignId,
  kind: RenderJobKind,
  status: RenderJobStatus,
  resultUrl: Schema.NullOr(ResultUrl),
  error: Schema.NullOr(JobError),
  createdAt: Timestamp,
  updatedAt: Timestamp
})
export type RenderJob = typeof RenderJob.Type

/**
 * A progress report: the new status, and the result's URL or the error when there is one (a
 * missing key keeps the stored value). Results and errors are only ever written through it.
 */
export const RenderJobProgress = RenderJob.mapFields(({ error, resultUrl, status }) => ({
  status,
  resultUrl: Schema.optionalKey(resultUrl),
  error: Schema.optionalKey(error)
}))
export type RenderJobProgress = typeof RenderJobProgress.Type
