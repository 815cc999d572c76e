import { HttpApi } from "effect/http-api"
import { CoreApi } from "../api/Api.ts"

/**
 * `CoreApi` as this server implements it. Responses are encoded without re-running the
 * schemas' checks: every value was checked on its way in (a design document's dozens of checks,
 * per layer, re-run on every read were about a tenth of a design list's CPU). Structure is
 * still enforced, and clients deriving from `CoreApi` still decode with every check.
 */
export const ServerApi = CoreApi.annotate(HttpApi.SuccessParseOptions, { disableChecks: true })
