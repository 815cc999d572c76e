import { Context, type Effect } from "effect"
import type { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import type { UserId } from "../../domain/User.ts"

/**
 * A port: the designs feature (which charges the month's quota as it creates) implements it, so
 * subscriptions can report usage without importing designs.
 */
export class DesignUsage extends Context.Service<DesignUsage, {
  /** Designs the user created in the period starting at `periodStart`. */
  readonly used: (userId: UserId, periodStart: Date) => Effect.Effect<number, DatabaseUnavailable>
}>()("customify/features/subscriptions/DesignUsage") {}
