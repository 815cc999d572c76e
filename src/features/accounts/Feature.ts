import { Layer } from "effect"
import * as AccountsRepository from "./AccountsRepository.ts"
import * as Passwords from "./Passwords.ts"
import * as Sessions from "./Sessions.ts"

/**
 * Accounts and their credentials: the repository, password hashing and sessions, shared by
 * sign-in (auth), profiles (users) and the account clean-up job. No routes of its own.
 */
export const layer = Layer.mergeAll(AccountsRepository.layerSql, Passwords.layer, Sessions.layer)

/** Accounts in a Map, bcrypt at its minimum cost. */
export const layerMemory = Layer.mergeAll(AccountsRepository.layerMemory, Passwords.layerTest, Sessions.layer)
