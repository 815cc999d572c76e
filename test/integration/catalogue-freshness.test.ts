import { describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll, expect } from "vitest"
import * as Database from "../../src/capabilities/database/Database.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"
import * as Catalogue from "../../src/features/catalogue/Catalogue.ts"
import * as PlansRepository from "../../src/features/catalogue/PlansRepository.ts"
import * as DesignsRepository from "../../src/features/designs/DesignsRepository.ts"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"

/**
 * The catalogue's in-process cache on real PostgreSQL: a change of the products or plans table
 * is served within CATALOGUE_TTL, which is well within the max-age clients are told, and
 * changes the entity tag; until then the cached copy and its tag are served.
 */
const scope = Effect.runSync(Scope.make())
let layer: Layer.Layer<Catalogue.Catalogue | SqlClient.SqlClient>

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
  const database = Database.layer.pipe(Layer.provide(AppConfig.layerTest({
    databaseUrl: Option.some(Redacted.make(await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))))
  })))
  const context = await Effect.runPromise(Layer.build(
    Catalogue.layer.pipe(Layer.provideMerge(Layer.merge(DesignsRepository.layerSql, PlansRepository.layerSql)), Layer.provideMerge(database))
  ).pipe(Scope.provide(scope)))
  layer = Layer.succeedContext(context)
  await Effect.runPromise(Database.migrate.pipe(Effect.provide(layer)))
}, 60_000)
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

describe("a change of the catalogue tables", () => {
  it.effect("is served, with a new tag, within CATALOGUE_TTL (less than max-age), and not before", () =>
    Effect.gen(function*() {
      expect(Duration.isLessThan(Catalogue.CATALOGUE_TTL, Catalogue.MAX_AGE)).toBe(true)
      yield* TestClock.setTime(Date.UTC(2030, 0, 1))
      const catalogue = yield* Catalogue.Catalogue
      const sql = yield* SqlClient.SqlClient
      const products = yield* catalogue.products
      const plans = yield* catalogue.plans

      yield* sql`UPDATE products SET printable_width_mm = 210.5 WHERE id = 'mug'`
      yield* sql`INSERT INTO products (id, name, printable_width_mm, printable_height_mm) VALUES ('cap', 'Cap', 120, 60)`
      yield* sql`UPDATE plans SET monthly_design_quota = 25 WHERE id = 'free'`

      yield* TestClock.adjust(Duration.subtract(Catalogue.CATALOGUE_TTL, Duration.seconds(1)))
      expect((yield* catalogue.products).etag).toBe(products.etag)
      expect((yield* catalogue.plans).etag).toBe(plans.etag)

      yield* TestClock.adjust(Duration.seconds(2))
      const changed = yield* catalogue.products
      expect(changed.etag).not.toBe(products.etag)
      expect(changed.items).toContainEqual({ id: "mug", name: "Mug", printableWidthMm: 210.5, printableHeightMm: 90 })
      expect(changed.items.map((p) => p.id)).toContain("cap")
      const changedPlans = yield* catalogue.plans
      expect(changedPlans.etag).not.toBe(plans.etag)
      expect(changedPlans.items[0]).toEqual({ id: "free", name: "Free", monthlyDesignQuota: 25 })

      // Back as it was: the tag is the content's, so the first one comes back too.
      yield* sql`DELETE FROM products WHERE id = 'cap'`
      yield* sql`UPDATE products SET printable_width_mm = 200 WHERE id = 'mug'`
      yield* TestClock.adjust(Duration.sum(Catalogue.CATALOGUE_TTL, Duration.seconds(1)))
      expect((yield* catalogue.products).etag).toBe(products.etag)
    }).pipe(Effect.provide(layer)))
})
