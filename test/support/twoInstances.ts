import { PgClient } from "@effect/sql-pg"
import { type Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll } from "vitest"
import { makeTestApp, type TestAppOptions } from "./app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "./database.ts"

/**
 * Two API instances over one fresh PostgreSQL database and the test Redis, as behind a load
 * balancer, plus a direct connection to read and arrange rows around the API. Registers the
 * file's `beforeAll`/`afterAll`; the getters work once `beforeAll` has run.
 */
export const twoInstances = (options: { readonly firstOverrides?: TestAppOptions["overrides"] } = {}) => {
  const scope = Effect.runSync(Scope.make())
  let sqlContext: Context.Context<SqlClient.SqlClient>
  let first: ReturnType<typeof makeTestApp> | undefined
  let second: ReturnType<typeof makeTestApp> | undefined
  let redisUrl = ""
  beforeAll(async () => {
    const serverUrl = realDatabaseUrl()
    redisUrl = realRedisUrl() ?? ""
    if (serverUrl === undefined || redisUrl === "") throw new Error("needs real PostgreSQL and Redis")
    const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
    const config = { databasePoolMax: 5 }
    first = makeTestApp({ databaseUrl, redisUrl, config, ...(options.firstOverrides === undefined ? {} : { overrides: options.firstOverrides }) })
    second = makeTestApp({ databaseUrl, redisUrl, config })
    sqlContext = await Effect.runPromise(
      Layer.buildWithScope(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 2 }), scope)
    )
  }, 60_000)
  afterAll(async () => {
    await first?.dispose()
    await second?.dispose()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })
  return {
    first: () => first!,
    second: () => second!,
    /** Lives as long as the file's tests, for more resources of theirs. */
    scope,
    redisUrl: () => redisUrl,
    /** A statement straight on the database. */
    query: <A extends object>(run: (sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<A>, unknown>) =>
      Effect.runPromise(Effect.flatMap(Effect.service(SqlClient.SqlClient), run).pipe(Effect.provideContext(sqlContext), Effect.orDie))
  }
}
