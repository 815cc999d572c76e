/**
 * The PostgreSQL client the bench and the baseline server use: `@effect/sql-pg` with the same
 * options as `src/capabilities/database/Database.ts`, so the baseline pays for the same driver.
 */
import { PgClient } from "@effect/sql-pg"
import { Duration, Effect, ManagedRuntime, Redacted, String } from "effect"
import { SqlClient } from "effect/sql"

export const pgLayer = (url: string, maxConnections: number) =>
  PgClient.layer({
    url: Redacted.make(url),
    maxConnections,
    transformQueryNames: String.camelToSnake,
    transformResultNames: String.snakeToCamel,
    transformJson: false,
    connectTimeout: Duration.seconds(5),
    idleTimeout: Duration.seconds(30)
  })

export interface Database {
  readonly sql: SqlClient.SqlClient
  /** Runs an effect on the pool's runtime. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient>) => Promise<A>
  readonly close: () => Promise<void>
}

export const openDatabase = async (url: string, maxConnections: number): Promise<Database> => {
  const runtime = ManagedRuntime.make(pgLayer(url, maxConnections))
  const sql = await runtime.runPromise(Effect.service(SqlClient.SqlClient))
  return {
    sql,
    run: (effect) => runtime.runPromise(effect),
    close: () => runtime.dispose()
  }
}
