import { randomUUID } from "node:crypto"
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted, type Scope } from "effect"
import { SqlClient } from "effect/sql"
import { inject } from "vitest"

export const realDatabaseUrl = (): string | undefined => inject("databaseUrl")
export const realRedisUrl = (): string | undefined => inject("redisUrl")

const withUrl = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Runs one statement on the server's maintenance database. */
export const adminQuery = (serverUrl: string, statement: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(withUrl(serverUrl, "postgres")), maxConnections: 1 })))

/**
 * A new, empty database on the real server for the current scope (one per test file keeps
 * files independent and parallel); dropped, connections and all, when the scope closes.
 */
export const freshDatabase = (serverUrl: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `t_${randomUUID().replaceAll("-", "").slice(0, 16)}`
      yield* adminQuery(serverUrl, `CREATE DATABASE ${name}`)
      return { name, url: withUrl(serverUrl, name) }
    }),
    ({ name }) => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).pipe(Effect.ignore)
  ).pipe(Effect.map(({ url }) => url), Effect.orDie)


/**
 * Holds `LOCK TABLE <table> IN EXCLUSIVE MODE` for `millis` in a transaction of its own, so that
 * writes to it wait meanwhile. Resolves once the lock is taken, with `released`, which resolves
 * when the lock is let go (wrapped: awaiting the promise itself would wait for the release).
 */
export const holdTableLock = async (databaseUrl: string, table: string, millis: number) => {
  let taken!: () => void
  const isTaken = new Promise<void>((resolve) => (taken = resolve))
  const released = Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(
      sql.unsafe(`LOCK TABLE ${table} IN EXCLUSIVE MODE`).pipe(
        Effect.andThen(Effect.sync(() => taken())),
        Effect.andThen(Effect.sleep(`${millis} millis`))
      )
    )
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 })), Effect.orDie))
  await isTaken
  return { released }
}
