import type { SubscriptionStatus } from "./Subscription.ts"

export interface Period {
  readonly start: Date
  readonly end: Date
}

/** The quota period containing `now`: the calendar month in UTC, end exclusive. */
export const periodContaining = (now: Date): Period => ({
  start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
  end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1))
})

/** Only active subscriptions create designs; reads keep working for the others. */
export const canCreate = (status: SubscriptionStatus): boolean => status === "active"

export const remaining = (limit: number | null, used: number): number | null =>
  limit === null ? null : Math.max(0, limit - used)
