import { Layer } from "effect"
import * as Accounts from "../accounts/Feature.ts"
import { AdminHandlers, MeHandlers } from "./Http.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/** Profiles, password changes, account deletion and administration, over the accounts feature. */
export const layer = Accounts.layer
export const layerMemory = Accounts.layerMemory

/** The "me" and "admin" groups' handlers. */
export const handlers = Layer.merge(MeHandlers, AdminHandlers).pipe(withServices(layer))
