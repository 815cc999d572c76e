import { Layer } from "effect"
import * as Subscriptions from "../subscriptions/Feature.ts"
import * as Designs from "./Designs.ts"
import * as DesignsRepository from "./DesignsRepository.ts"
import { DesignsHandlers } from "./Http.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/**
 * Designs (cached reads, quota-charged creates) over the subscriptions feature. Needs the
 * `ImageReferences` port, which the assets feature implements; implements subscriptions'
 * `DesignUsage` port (`ports`).
 */
export const layer = Designs.layerLookup.pipe(
  Layer.provideMerge(Layer.merge(DesignsRepository.layerSql, Subscriptions.layer))
)
export const layerMemory = Designs.layerLookup.pipe(
  Layer.provideMerge(Layer.merge(DesignsRepository.layerMemory, Subscriptions.layerMemory))
)

/** The ports this feature implements for the features below it. */
export const ports = Designs.layerDesignUsage.pipe(Layer.provide(DesignsRepository.layerSql))
export const portsMemory = Designs.layerDesignUsage.pipe(Layer.provide(DesignsRepository.layerMemory))

/** The "designs" group's handlers. */
export const handlers = DesignsHandlers.pipe(withServices(layer))
