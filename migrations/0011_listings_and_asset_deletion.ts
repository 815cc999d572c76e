import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * For the dashboard's lists and the deletion of uploads (ADR 0018):
 * - a design's uploads and render jobs, newest first (keyset on created_at, id);
 * - objects whose asset row was deleted but whose removal from storage has not been confirmed
 *   yet (`asset_object_removals`): written in the transaction that deletes the row, swept by
 *   the housekeeping until storage confirms;
 * - a design write whose image layers show an asset that is not a completed upload of the
 *   design's owner fails as a foreign key would (`designs_layer_asset_fkey`). The assets shown
 *   are locked FOR KEY SHARE, so a deletion of one of them waits for the write's transaction
 *   (and then sees the layer), or the write waits for the deletion (and then fails): no layer
 *   can ever point at a deleted upload, whichever statement writes the document.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX assets_design_newest ON assets (design_id, created_at DESC, id DESC)`
  yield* sql`CREATE INDEX render_jobs_design_newest ON render_jobs (design_id, created_at DESC, id DESC)`
  yield* sql`
    CREATE TABLE asset_object_removals (
      prefix text PRIMARY KEY,
      requested_at timestamptz NOT NULL
    )`
  yield* sql`
    CREATE FUNCTION designs_layer_assets_exist() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      shown uuid[];
      found integer;
    BEGIN
      SELECT coalesce(array_agg(DISTINCT (layer->>'assetId')::uuid), '{}') INTO shown
      FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(NEW.document->'layers') = 'array' THEN NEW.document->'layers' ELSE '[]'::jsonb END
      ) AS layer
      WHERE layer->>'type' = 'image';
      IF cardinality(shown) = 0 THEN
        RETURN NEW;
      END IF;
      SELECT count(*) INTO found FROM (
        SELECT 1 FROM assets
        WHERE id = ANY (shown) AND owner_id = NEW.owner_id AND status = 'complete'
        FOR KEY SHARE
      ) AS locked;
      IF found < cardinality(shown) THEN
        RAISE EXCEPTION 'an image layer shows an asset that is not a completed upload of the owner'
          USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'designs_layer_asset_fkey', TABLE = 'designs';
      END IF;
      RETURN NEW;
    END
    $$`
  // Only documents with an image layer call the function (the jsonpath test runs in C): a write
  // of a document without images costs nothing measurable (ADR 0018).
  yield* sql`
    CREATE TRIGGER designs_layer_assets_exist
    BEFORE INSERT OR UPDATE OF document ON designs
    FOR EACH ROW
    WHEN (NEW.document @? '$.layers[*] ? (@.type == "image")')
    EXECUTE FUNCTION designs_layer_assets_exist()`
})
