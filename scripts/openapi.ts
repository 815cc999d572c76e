/**
 * `npm run openapi [-- FILE]`: writes the OpenAPI document generated from the HttpApi
 * definition (the same one GET /openapi.json serves) to FILE (default openapi.json in the
 * system temp directory) and prints the path. Used by `npm run lint:openapi`.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { OpenApi } from "effect/http-api"
import { CoreApi } from "../src/api/Api.ts"

const file = process.argv[2] ?? join(tmpdir(), "customify-openapi.json")
writeFileSync(file, JSON.stringify(OpenApi.fromApi(CoreApi), null, 2))
console.log(file)
