import { Effect, Layer } from "effect"
import * as IdempotencyStore from "./IdempotencyStore.ts"
import * as IdempotentLive from "./IdempotentLive.ts"

/**
 * Idempotent creates (docs/decisions/0019-idempotent-creates.md): the `Idempotent` middleware the
 * create endpoints declare, over keys kept in PostgreSQL.
 */
export const layer = IdempotencyStore.layerSql
export const layerMemory = IdempotencyStore.layerMemory

/** The middleware, for the composition root to provide beside the security middlewares. */
export const middleware = IdempotentLive.layer.pipe(Layer.provide(layer))

/** Run hourly by the worker (src/features/jobs/Housekeeping.ts): keys past their 24 hours go. */
export const housekeeping = [{
  name: "idempotency-keys.prune",
  run: Effect.flatMap(Effect.service(IdempotencyStore.IdempotencyStore), (store) => store.prune)
}] as const
