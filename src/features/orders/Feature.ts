import { Layer } from "effect"
import * as Jobs from "../jobs/Feature.ts"
import * as Subscriptions from "../subscriptions/Feature.ts"
import { InternalHandlers, OrdersHandlers } from "./Http.ts"
import * as OrdersRepository from "./OrdersRepository.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/**
 * Orders (read-only for users) and the integration layer's internal routes, which also set
 * subscriptions and report render jobs.
 */
export const layer = Layer.mergeAll(OrdersRepository.layerSql, Jobs.layer, Subscriptions.layer)
export const layerMemory = Layer.mergeAll(OrdersRepository.layerMemory, Jobs.layerMemory, Subscriptions.layerMemory)

/** The "orders" and "internal" groups' handlers. */
export const handlers = Layer.merge(OrdersHandlers, InternalHandlers).pipe(withServices(layer))
