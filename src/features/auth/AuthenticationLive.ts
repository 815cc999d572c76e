import { Effect, Layer, Option, Redacted } from "effect"
import { Authentication, CurrentActor } from "../../api/Security.ts"
import { SessionRevoked } from "../../domain/AuthErrors.ts"
import { toProblem } from "../../http/DomainProblems.ts"
import { RequestLog } from "../../http/RequestLog.ts"
import { AccessTokens } from "./AccessTokens.ts"
import { Sessions } from "../accounts/Sessions.ts"

/** Verifies the bearer token, then that its session is still alive, and provides the actor. */
export const layer = Layer.effect(Authentication, Effect.gen(function*() {
  const tokens = yield* AccessTokens
  const sessions = yield* Sessions
  const authenticate = Effect.fn("authenticate")(function*(token: string) {
    const actor = yield* tokens.verify(token)
    if (!(yield* sessions.isAlive(actor.sessionId))) return yield* new SessionRevoked()
    const log = yield* Effect.serviceOption(RequestLog)
    if (Option.isSome(log)) log.value.userId = actor.userId
    return actor
  })
  return Authentication.of({
    bearer: (httpEffect, { credential }) =>
      authenticate(Redacted.value(credential)).pipe(
        Effect.mapError(toProblem),
        Effect.flatMap((actor) => Effect.provideService(httpEffect, CurrentActor, actor))
      )
  })
}))
