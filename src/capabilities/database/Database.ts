import { fileURLToPath } from "node:url"
// Deep import: the package barrel loads every Node platform module at start-up.
import * as NodeServices from "@effect/platform-node/NodeServices"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { Context, Duration, Effect, Layer, Option, Redacted, String } from "effect"
import { SqlClient } from "effect/sql"
import { fromFileSystem } from "effect/sql/MigratorFileSystem"
import { AppConfig } from "../../config/AppConfig.ts"
import * as EmbeddedPostgres from "./EmbeddedPostgres.ts"

/** Which PostgreSQL the process talks to, for the start-up log and the health check. */
export class DatabaseInfo extends Context.Service<DatabaseInfo, {
  readonly kind: "postgres" | "embedded"
  /** e.g. `postgres 127.0.0.1:5432/customify` or `embedded (./.data/pg)`; never contains credentials. */
  readonly description: string
}>()("customify/capabilities/database/DatabaseInfo") {}

export const migrationsDirectory = fileURLToPath(new URL("../../../migrations", import.meta.url))

const clientOptions = {
  transformQueryNames: String.camelToSnake,
  transformResultNames: String.snakeToCamel,
  // Column names are translated; the contents of JSON columns (design documents) are stored as sent.
  transformJson: false,
  connectTimeout: Duration.seconds(5),
  idleTimeout: Duration.seconds(30)
} as const

/** `postgres://user:secret@host:5432/db?x` → `host:5432/db`. */
export const describeUrl = (url: Redacted.Redacted): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`
  } catch {
    return "(unparseable url)"
  }
}

const live = (url: Redacted.Redacted, maxConnections: number) =>
  Layer.merge(
    PgClient.layer({ url, maxConnections, ...clientOptions }),
    Layer.succeed(DatabaseInfo, { kind: "postgres", description: `postgres ${describeUrl(url)}` })
  )

/**
 * PGlite behind a loopback wire-protocol socket. It runs one query at a time and accepts one
 * socket, so the pool holds exactly one connection.
 */
export const layerEmbedded = (dataDir: string | undefined) =>
  Layer.unwrap(Effect.map(EmbeddedPostgres.start(dataDir), (embedded) =>
    Layer.merge(
      PgClient.layer({ url: embedded.url, maxConnections: 1, ...clientOptions }),
      Layer.succeed(DatabaseInfo, { kind: "embedded", description: `embedded (${embedded.location})` })
    )))

/** The in-memory database: a throwaway PGlite, running the same SQL and migrations as production. */
export const layerMemory = layerEmbedded(undefined)

/** Real PostgreSQL when `DATABASE_URL` is set, the embedded one under `DATA_DIR/pg` otherwise. */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const config = yield* AppConfig
  return Option.match(config.databaseUrl, {
    onSome: (url) => live(url, config.databasePoolMax),
    onNone: () => layerEmbedded(`${config.dataDir.replace(/\/+$/, "")}/pg`)
  })
}))

/** Applies every pending migration from `migrations/`, in one transaction, under a table lock. */
export const migrate = PgMigrator.run({ loader: fromFileSystem(migrationsDirectory) }).pipe(
  Effect.provide(NodeServices.layer),
  Effect.tap((applied) =>
    applied.length === 0
      ? Effect.logInfo("migrations: up to date")
      : Effect.logInfo(`migrations: applied ${applied.map(([id, name]) => `${id}_${name}`).join(", ")}`)
  )
)

/** Runs the migrations while the layer is built, when `MIGRATE_ON_START` says so. */
export const layerMigrateOnStart = Layer.effectDiscard(Effect.gen(function*() {
  const config = yield* AppConfig
  if (config.migrateOnStart) yield* migrate
}))

export type Sql = SqlClient.SqlClient
