import { Clock, Duration, Effect, Layer } from "effect"
import * as AccountsRepository from "./AccountsRepository.ts"
import * as PasswordResetsRepository from "./PasswordResetsRepository.ts"
import * as Passwords from "./Passwords.ts"
import * as Sessions from "./Sessions.ts"
import * as SessionsRepository from "./SessionsRepository.ts"

/**
 * Accounts and their credentials: the repository, password hashing and sessions, shared by
 * sign-in (auth), profiles (users) and the account clean-up job. No routes of its own.
 */
export const layer = Layer.merge(Passwords.layer, Sessions.layer).pipe(
  Layer.provideMerge(Layer.mergeAll(AccountsRepository.layerSql, SessionsRepository.layerSql, PasswordResetsRepository.layerSql))
)

/** Accounts and sessions in Maps, bcrypt at its minimum cost. */
export const layerMemory = Layer.merge(Passwords.layerTest, Sessions.layer).pipe(
  Layer.provideMerge(
    Layer.merge(SessionsRepository.layerMemory, PasswordResetsRepository.layerMemory).pipe(
      Layer.provideMerge(AccountsRepository.layerMemory)
    )
  )
)

/** Ended sessions are kept this long (for support questions), then deleted with their tokens. */
export const ENDED_SESSION_RETENTION = Duration.days(1)

/** Run hourly by the worker (src/features/jobs/Housekeeping.ts). */
export const housekeeping = [{
  name: "sessions.prune",
  run: Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* (yield* SessionsRepository.SessionsRepository).prune(new Date(now - Duration.toMillis(ENDED_SESSION_RETENTION)))
  })
}] as const
