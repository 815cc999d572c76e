import { Layer } from "effect"
import * as Auth from "../auth/Feature.ts"
import { AdminHandlers, MeHandlers } from "./Http.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/**
 * Profiles, password changes, account deletion and administration, over the accounts feature
 * and the auth feature's login throttle (re-authentication counts like a sign-in).
 */
export const layer = Auth.layer
export const layerMemory = Auth.layerMemory

/** The "me" and "admin" groups' handlers. */
export const handlers = Layer.merge(MeHandlers, AdminHandlers).pipe(withServices(layer))
