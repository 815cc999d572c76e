import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"
import { Int32, Int64 } from "../domain/Primitives.ts"
import { problemMembers, problemType } from "./Problems.ts"

/** Problems of the assets endpoints, in the shape of the shared ones in `Problems.ts`. */

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
