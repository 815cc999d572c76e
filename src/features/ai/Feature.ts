import { ServerApi } from "../../http/ServerApi.ts"
import * as Designs from "../designs/Feature.ts"
import { makeAiHandlers } from "./Http.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/** Suggestions and similar designs over the designs feature and the AI capabilities. */
export const layer = Designs.layer
export const layerMemory = Designs.layerMemory

/** The "ai" group's handlers. */
export const handlers = makeAiHandlers(ServerApi).pipe(withServices(layer))
