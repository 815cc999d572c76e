import { Clock, Duration, Effect, Layer } from "effect"
import * as Accounts from "../accounts/Feature.ts"
import * as AccessTokens from "./AccessTokens.ts"
import * as AuthenticationLive from "./AuthenticationLive.ts"
import { AuthHandlers } from "./Http.ts"
import * as LoginThrottle from "./LoginThrottle.ts"
import * as PasswordResetsRepository from "../accounts/PasswordResetsRepository.ts"
import { RESET_REQUEST_RETENTION } from "./PasswordReset.ts"
import * as ServiceAuthenticationLive from "./ServiceAuthenticationLive.ts"
import { withServices } from "../../http/FeatureHandlers.ts"

/** Sign-in, refresh, sign-out and password resets over the accounts feature; attempts counted in PostgreSQL. */
export const layer = Layer.mergeAll(AccessTokens.layer, LoginThrottle.layerSql).pipe(
  Layer.provideMerge(Accounts.layer)
)
export const layerMemory = Layer.mergeAll(AccessTokens.layer, LoginThrottle.layerMemory).pipe(
  Layer.provideMerge(Accounts.layerMemory)
)

/** The "auth" group's handlers. */
export const handlers = AuthHandlers.pipe(withServices(layer))

/** The security middlewares every protected group declares: bearer tokens and service keys. */
export const middleware = Layer.merge(AuthenticationLive.layer, ServiceAuthenticationLive.layer).pipe(Layer.provide(layer))

/** Run hourly by the worker (src/features/jobs/Housekeeping.ts). */
export const housekeeping = [{
  name: "password-resets.prune",
  run: Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* (yield* PasswordResetsRepository.PasswordResetsRepository).prune(
      new Date(now - Duration.toMillis(RESET_REQUEST_RETENTION))
    )
  })
}, { name: "login-attempts.prune", run: LoginThrottle.prune }] as const
