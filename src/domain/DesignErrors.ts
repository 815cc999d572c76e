import { Schema } from "effect"
import { SubscriptionStatus } from "./Subscription.ts"

/** Missing, deleted, or someone else's: indistinguishable on purpose. */
export class DesignNotFound extends Schema.TaggedError<DesignNotFound>()("DesignNotFound", {}) {}

export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  currentVersion: Schema.Int
}) {}

export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  limit: Schema.Int,
  used: Schema.Int,
  resetsAt: Schema.Date
}) {}

/** `none`: the account has no subscription at all. */
export class SubscriptionInactive extends Schema.TaggedError<SubscriptionInactive>()("SubscriptionInactive", {
  status: Schema.Literals([...SubscriptionStatus.literals, "none"])
}) {}

/** A document or product the schema accepts but the rules do not, each problem at its path. */
export class DesignInvalid extends Schema.TaggedError<DesignInvalid>()("DesignInvalid", {
  errors: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {}

export class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", {}) {}

export class SubscriptionNotFound extends Schema.TaggedError<SubscriptionNotFound>()("SubscriptionNotFound", {}) {}

export class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", {}) {}

/** The caller requested `limit` render and PDF jobs within the last hour (RENDER_JOBS_PER_HOUR). */
export class RenderRateLimited extends Schema.TaggedError<RenderRateLimited>()("RenderRateLimited", {
  limit: Schema.Int,
  retryAfterSeconds: Schema.Int
}) {}
