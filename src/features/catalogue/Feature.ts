import { Layer } from "effect"
import { withServices } from "../../http/FeatureHandlers.ts"
import * as Designs from "../designs/Feature.ts"
import * as Catalogue from "./Catalogue.ts"
import { CatalogueHandlers } from "./Http.ts"
import * as PlansRepository from "./PlansRepository.ts"

/** The public catalogue: products (the designs feature's) and plans, cacheable. */
export const layer = Catalogue.layer.pipe(Layer.provideMerge(Layer.merge(PlansRepository.layerSql, Designs.layer)))
export const layerMemory = Catalogue.layer.pipe(Layer.provideMerge(Layer.merge(PlansRepository.layerMemory, Designs.layerMemory)))

/** The "catalogue" group's handlers. */
export const handlers = CatalogueHandlers.pipe(withServices(layer))
