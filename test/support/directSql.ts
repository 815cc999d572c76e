import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import { validDocument } from "./http.ts"

/** Runs one statement on a connection of its own to the database at `url()` (around the API). */
export const directQuery = (url: () => string) => <A>(statement: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.flatMap(Effect.service(SqlClient.SqlClient), statement).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url()), maxConnections: 1 }))
  ) as Effect.Effect<A>)

/** A valid document whose one layer shows the upload `assetId`. */
export const imageDocument = (assetId: string): DesignDocument => ({
  ...validDocument(),
  layers: [{ id: "img", type: "image", x: 0, y: 0, width: 10, height: 10, rotation: 0, opacity: 1, zIndex: 0, assetId }]
})

/** Designs (of `ownerId`, or anyone's) whose document shows an upload that does not exist: must always be none. */
export const danglingLayers = (query: ReturnType<typeof directQuery>, ownerId?: string) =>
  query((sql) =>
    sql<{ id: string }>`
      SELECT d.id FROM designs d, jsonb_array_elements(d.document->'layers') AS layer
      WHERE layer->>'type' = 'image' ${ownerId === undefined ? sql`` : sql`AND d.owner_id = ${ownerId}`}
        AND NOT EXISTS (SELECT 1 FROM assets WHERE id = (layer->>'assetId')::uuid)`)
