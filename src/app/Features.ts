import { Layer } from "effect"
import * as Accounts from "../features/accounts/Feature.ts"
import * as Ai from "../features/ai/Feature.ts"
import * as Assets from "../features/assets/Feature.ts"
import * as Auth from "../features/auth/Feature.ts"
import * as Catalogue from "../features/catalogue/Feature.ts"
import * as Designs from "../features/designs/Feature.ts"
import * as Health from "../features/health/Feature.ts"
import * as Idempotency from "../features/idempotency/Feature.ts"
import * as Jobs from "../features/jobs/Feature.ts"
import * as Orders from "../features/orders/Feature.ts"
import * as Subscriptions from "../features/subscriptions/Feature.ts"
import * as Users from "../features/users/Feature.ts"
import { withServices } from "../http/FeatureHandlers.ts"

/**
 * The one list of features. Each wires itself (its services over the capabilities, its handlers
 * with those services provided); this module only merges them and plugs in the ports, through
 * which a feature lower in the graph asks a feature above it (designs asks assets about image
 * layers, subscriptions asks designs about usage) without importing it. Layers are memoised by
 * reference, so a repository shared by several features is one instance.
 */
const ports = Layer.merge(Designs.ports, Assets.ports)
const portsMemory = Layer.merge(Designs.portsMemory, Assets.portsMemory)

/** Every feature's services over the live capabilities: what the worker and the routes run on. */
export const layer = Layer.mergeAll(
  Accounts.layer,
  Auth.layer,
  Users.layer,
  Subscriptions.layer,
  Designs.layer,
  Assets.layer,
  Orders.layer,
  Jobs.layer,
  Ai.layer,
  Catalogue.layer
).pipe(Layer.provideMerge(ports))

/** The same services over in-memory repositories (the capabilities are chosen by the caller). */
export const layerMemory = Layer.mergeAll(
  Accounts.layerMemory,
  Auth.layerMemory,
  Users.layerMemory,
  Subscriptions.layerMemory,
  Designs.layerMemory,
  Assets.layerMemory,
  Orders.layerMemory,
  Jobs.layerMemory,
  Ai.layerMemory,
  Catalogue.layerMemory
).pipe(Layer.provideMerge(portsMemory))

/** Every HttpApi group's handlers, each with its feature's services. */
export const handlers = Layer.mergeAll(
  Health.handlers,
  Auth.handlers,
  Users.handlers,
  Subscriptions.handlers,
  Designs.handlers,
  Assets.handlers,
  Orders.handlers,
  Jobs.handlers,
  Ai.handlers,
  Catalogue.handlers
).pipe(withServices(ports))

/** Routes features serve beside the HttpApi, and their list for the route table. */
export const routes = Assets.routes
export const routeList = Assets.routeList

/** The middlewares the API declares: security, and idempotent creates. */
export const middleware = Layer.merge(Auth.middleware, Idempotency.middleware)

/**
 * Housekeeping tasks of the features other than jobs (src/features/jobs/Housekeeping.ts), run by
 * the worker hourly.
 */
const housekeeping = [
  ...Accounts.housekeeping,
  ...Auth.housekeeping,
  ...Assets.housekeeping,
  ...Idempotency.housekeeping
] as const

/** The background worker, on the same services. */
export const worker = Jobs.worker(housekeeping).pipe(Layer.provide(Layer.mergeAll(ports, Assets.layer, Idempotency.layer)))
