import { Layer } from "effect"
import type { HttpRouter } from "effect/http"

/**
 * Gives HttpApi handlers the services they run on. `HttpApiBuilder.group` runs every handler in
 * the context its layer was built in, so services provided to that layer serve each request (one
 * instance, shared with every other layer of the same build). Its types still list them as
 * request-level requirements (`HttpRouter.Request<"Requires", _>`); this removes the ones
 * `services` provides, so what remains is what the composition root must still supply.
 */
export const withServices = <A, E, R>(services: Layer.Layer<A, E, R>) =>
<HA, HE, HR>(
  handlers: Layer.Layer<HA, HE, HR>
): Layer.Layer<HA, E | HE, R | Exclude<Exclude<HR, A>, HttpRouter.Request<"Requires", A>>> =>
  Layer.provide(handlers, services) as Layer.Layer<HA, E | HE, R | Exclude<Exclude<HR, A>, HttpRouter.Request<"Requires", A>>>
