import { Effect, Layer } from "effect"
import * as Auth from "../auth/Feature.ts"
import * as Designs from "../designs/Feature.ts"
import { JobsHandlers } from "./Http.ts"
import * as RenderJobsRepository from "./RenderJobsRepository.ts"
import * as Worker from "./Worker.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/**
 * Render jobs (requested here, run by the render engine) and this service's own background jobs
 * (`worker`), which run the other features' use cases.
 */
export const layer = Layer.merge(RenderJobsRepository.layerSql, Designs.layer)
export const layerMemory = Layer.merge(RenderJobsRepository.layerMemory, Designs.layerMemory)

/** The "jobs" group's handlers. */
export const handlers = JobsHandlers.pipe(withServices(layer))

/** Consumes this service's jobs until the layer's scope closes. */
export const worker = Layer.effectDiscard(Effect.forkScoped(Worker.run)).pipe(
  Layer.provide(Layer.merge(Designs.layer, Auth.layer))
)
