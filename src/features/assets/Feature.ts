import { Layer } from "effect"
import * as Designs from "../designs/Feature.ts"
import * as Assets from "./Assets.ts"
import * as AssetsRepository from "./AssetsRepository.ts"
import { AssetsHandlers } from "./Http.ts"
import { LocalUploadRoutes, localUploadRoutes } from "./LocalUploadRoutes.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/** Uploads of a design's images, over the designs feature and the storage capability. */
export const layer = Layer.merge(AssetsRepository.layerSql, Designs.layer)
export const layerMemory = Layer.merge(AssetsRepository.layerMemory, Designs.layerMemory)

/** Implements designs' `ImageReferences` port. */
export const ports = Assets.layerImageReferences.pipe(Layer.provide(AssetsRepository.layerSql))
export const portsMemory = Assets.layerImageReferences.pipe(Layer.provide(AssetsRepository.layerMemory))

/** The local storage backend's upload and download URLs, served beside the HttpApi. */
export const routes = LocalUploadRoutes
export const routeList = localUploadRoutes

/** Run hourly by the worker (src/features/jobs/Housekeeping.ts). */
export const housekeeping = [
  { name: "uploads.remove-expired", run: Assets.removeExpiredUploads() },
  { name: "uploads.remove-deleted-objects", run: Assets.removeDeletedObjects() }
] as const

/** The "assets" group's handlers. */
export const handlers = AssetsHandlers.pipe(withServices(layer))
