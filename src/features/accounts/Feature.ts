import { Layer } from "effect"
import * as AccountsRepository from "./AccountsRepository.ts"
import * as Passwords from "./Passwords.ts"
import * as Sessions from "./Sessions.ts"
import * as SessionsRepository from "./SessionsRepository.ts"

/**
 * Accounts and their credentials: the repository, password hashing and sessions, shared by
 * sign-in (auth), profiles (users) and the account clean-up job. No routes of its own.
 */
export const layer = Layer.merge(Passwords.layer, Sessions.layer).pipe(
  Layer.provideMerge(Layer.merge(AccountsRepository.layerSql, SessionsRepository.layerSql))
)

/** Accounts and sessions in Maps, bcrypt at its minimum cost. */
export const layerMemory = Layer.merge(Passwords.layerTest, Sessions.layer).pipe(
  Layer.provideMerge(SessionsRepository.layerMemory.pipe(Layer.provideMerge(AccountsRepository.layerMemory)))
)
