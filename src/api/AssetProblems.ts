import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"
import { DesignId } from "../domain/Design.ts"
import { Int32, Int64 } from "../domain/Primitives.ts"
import { problemMembers, problemType } from "./Problems.ts"

/** Problems of the assets endpoints, in the shape of the shared ones in `Problems.ts`. */

/** The most design ids an `asset_in_use` problem lists. */
export const MAX_IN_USE_DESIGNS = 20

export class AssetTooLarge extends HttpApiError.Problem<AssetTooLarge>()("AssetTooLarge", {
  type: problemType("asset_too_large"),
  status: 413,
  title: "The file is larger than uploads may be"
}, {
  code: Schema.tag("asset_too_large"),
  ...problemMembers,
  maxBytes: Int64.annotate({ description: "The largest upload accepted, in bytes" })
}) {}

export class AssetNotUploaded extends HttpApiError.Problem<AssetNotUploaded>()("AssetNotUploaded", {
  type: problemType("asset_not_uploaded"),
  status: 409,
  title: "The file has not been uploaded as declared"
}, {
  code: Schema.tag("asset_not_uploaded"),
  ...problemMembers,
  reason: Schema.Literals(["missing", "size_mismatch", "type_mismatch", "pending"]).annotate({
    description: "missing: upload it first; size_mismatch / type_mismatch: upload exactly what was declared; " +
      "pending: complete the upload first"
  })
}) {}

/**
 * An upload would exceed a limit: the uploads a design may have (UPLOADS_PER_DESIGN) or the
 * uploads a user may have pending at once (PENDING_UPLOADS_PER_USER). Pending uploads stop
 * counting once completed, or once removed after their URL expired.
 */
export class UploadLimitReached extends HttpApiError.Problem<UploadLimitReached>()("UploadLimitReached", {
  type: problemType("upload_limit_reached"),
  status: 409,
  title: "Upload limit reached"
}, {
  code: Schema.Literals(["too_many_assets", "too_many_pending_uploads"]).annotate({
    description: "too_many_assets: the design has UPLOADS_PER_DESIGN uploads; " +
      "too_many_pending_uploads: PENDING_UPLOADS_PER_USER uploads are pending, complete them first"
  }),
  ...problemMembers,
  limit: Int32.annotate({ description: "The limit reached" })
}) {}

/** The upload is shown by an image layer of a live design's current document: remove the layers first. */
export class AssetInUse extends HttpApiError.Problem<AssetInUse>()("AssetInUse", {
  type: problemType("asset_in_use"),
  status: 409,
  title: "The upload is shown by a design"
}, {
  code: Schema.tag("asset_in_use"),
  ...problemMembers,
  designIds: Schema.Array(DesignId).check(Schema.isMaxLength(MAX_IN_USE_DESIGNS)).annotate({
    description: `The live designs whose current document shows it (at most ${MAX_IN_USE_DESIGNS})`
  })
}) {}
