import { Context, Effect, Layer, Schema } from "effect"
import { SqlClient } from "effect/sql"
import { type DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import * as StoredRows from "../../capabilities/database/StoredRows.ts"
import { Plan } from "../../domain/Subscription.ts"
import { PLANS } from "../subscriptions/SubscriptionsRepository.ts"

/** The plan catalogue, in the order the plans table gives them (cheapest first). */
export class PlansRepository extends Context.Service<PlansRepository, {
  readonly all: Effect.Effect<ReadonlyArray<Plan>, DatabaseUnavailable>
}>()("customify/features/catalogue/PlansRepository") {}

export const layerSql = Layer.effect(PlansRepository, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const all = StoredRows.findAll({
    Request: Schema.Void,
    Result: Plan,
    execute: () => sql`SELECT id, name, monthly_design_quota FROM plans ORDER BY sort_order, id`
  })
  return PlansRepository.of({ all: all().pipe(orUnavailable) })
}))

export const layerMemory = Layer.succeed(PlansRepository, PlansRepository.of({ all: Effect.succeed(PLANS) }))
