import { Layer } from "effect"
import { SubscriptionsHandlers } from "./Http.ts"
import * as Subscriptions from "./Subscriptions.ts"
import * as SubscriptionsRepository from "./SubscriptionsRepository.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/**
 * Plans, subscriptions (cached) and usage. Needs the `DesignUsage` port, which the designs
 * feature implements.
 */
export const layer = Subscriptions.layerLookup.pipe(Layer.provideMerge(SubscriptionsRepository.layerSql))
export const layerMemory = Subscriptions.layerLookup.pipe(Layer.provideMerge(SubscriptionsRepository.layerMemory))

/** The "subscriptions" group's handlers. */
export const handlers = SubscriptionsHandlers.pipe(withServices(layer))
