import { readdirSync } from "node:fs"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted, String } from "effect"
import { SqlClient } from "effect/sql"
import { describe, expect, it } from "vitest"
import * as Database from "../../src/capabilities/database/Database.ts"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"

const migrationFiles = readdirSync(Database.migrationsDirectory).filter((f) => /^\d+_.+\.ts$/.test(f))

/** Migrates twice (the second run must apply nothing) and reads back what was recorded. */
const migrateAndInspect = Effect.gen(function*() {
  const first = yield* Database.migrate
  const second = yield* Database.migrate
  const sql = yield* SqlClient.SqlClient
  const recorded = yield* sql<{ migrationId: number }>`SELECT migration_id FROM effect_sql_migrations ORDER BY migration_id`
  const plans = yield* sql<{ id: string }>`SELECT id FROM plans ORDER BY sort_order`
  return { first, second, recorded: recorded.map((r) => r.migrationId), plans: plans.map((p) => p.id) }
})

const expectAllApplied = (result: Effect.Success<typeof migrateAndInspect>) => {
  expect(result.first).toHaveLength(migrationFiles.length)
  expect(result.second).toEqual([])
  expect(result.recorded).toEqual(migrationFiles.map((f) => Number(f.split("_")[0])).sort((a, b) => a - b))
  expect(result.plans).toEqual(["free", "starter", "pro", "enterprise"])
}

describe("migrations", () => {
  it("apply on real PostgreSQL, once", async () => {
    const serverUrl = realDatabaseUrl()
    if (serverUrl === undefined) throw new Error("needs a real PostgreSQL (see test/support/globalSetup.ts)")
    const result = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const url = yield* freshDatabase(serverUrl)
      return yield* migrateAndInspect.pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(url), transformResultNames: String.snakeToCamel }))
      )
    })))
    expectAllApplied(result)
  })

  it("apply the very same files on the embedded PGlite", async () => {
    const result = await Effect.runPromise(migrateAndInspect.pipe(Effect.provide(Layer.fresh(Database.layerMemory))))
    expectAllApplied(result)
  })
})
