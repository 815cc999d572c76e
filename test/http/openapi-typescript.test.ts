import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { OpenApi } from "effect/http-api"
import openapiTS, { astToString } from "openapi-typescript"
import ts from "typescript"
import { afterAll, describe, expect, it } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"

/**
 * What a non-Effect frontend does: generate TypeScript types from /openapi.json with
 * openapi-typescript and call the API with them. A sample of calls must type-check, and wrong
 * ones must not (each `@ts-expect-error` must meet an error, or the compiler reports it).
 */

const sample = `
import type { components, paths } from "./schema.ts"

type DesignsQuery = NonNullable<paths["/api/v1/designs"]["get"]["parameters"]["query"]>
export const firstPage: DesignsQuery = { limit: 10 }
export const nextPage: DesignsQuery = { limit: 100, cursor: "eyJrIjoxfQ", status: "draft", productType: "mug" }
// @ts-expect-error limit is a number, as a generated client sends it
export const stringLimit: DesignsQuery = { limit: "10" }

type OrdersQuery = NonNullable<paths["/api/v1/orders"]["get"]["parameters"]["query"]>
export const orders: OrdersQuery = { limit: 1 }

type CreateDesign = paths["/api/v1/designs"]["post"]["requestBody"]["content"]["application/json"]
export const create: CreateDesign = {
  name: "Mug for Ann",
  productType: "mug",
  document: {
    canvas: { width: 800, height: 600, unit: "px", dpi: 300, background: "#ffffff" },
    layers: [{
      id: "l1", type: "text", x: 10, y: 10, width: 200, height: 50, rotation: 0, opacity: 1, zIndex: 1,
      content: "Hello", fontFamily: "Inter", fontSize: 24, color: "#000000", align: "left"
    }]
  }
}
// @ts-expect-error a design has a name
export const nameless: CreateDesign = { productType: "mug", document: create.document }

type Created = paths["/api/v1/designs"]["post"]["responses"][201]["content"]["application/json"]
export const createdVersion = (design: Created): number => design.version

// Every field of a render request is optional: so is its body.
type Render = paths["/api/v1/designs/{id}/render"]["post"]
export const renderWithoutBody: Omit<Render["parameters"], "query" | "header" | "cookie"> & { requestBody?: Render["requestBody"] } = {
  path: { id: "3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a" }
}

type DesignNotFound = paths["/api/v1/designs/{id}"]["get"]["responses"][404]["content"]["application/problem+json"]
export const notFoundCode = (problem: DesignNotFound): "not_found" => problem.code
export const notFoundType = (problem: DesignNotFound): "urn:customify:problem:not_found" => problem.type

type NoRoute = components["responses"]["RouteNotFound"]["content"]["application/problem+json"]
export const noRouteType = (problem: NoRoute): "urn:customify:problem:not_found" => problem.type
// @ts-expect-error the status of a 404 problem is 404
export const wrongStatus = (problem: NoRoute): 400 => problem.status

type Quota = paths["/api/v1/designs"]["post"]["responses"][402]["content"]["application/problem+json"]
export const quotaLimit = (problem: Quota): number | undefined => "limit" in problem ? problem.limit : undefined

type Limited = paths["/api/v1/designs"]["get"]["responses"][429]["content"]["application/problem+json"]
export const limitedCode = (problem: Limited): string => problem.code

// The endpoints a widget and a dashboard need (issue 15).
type Products = paths["/api/v1/products"]["get"]["responses"][200]["content"]["application/json"]
export const printableArea = (list: Products): number => (list.data[0]?.printableWidthMm ?? 0) * (list.data[0]?.printableHeightMm ?? 0)
type ProductsHeaders = paths["/api/v1/products"]["get"]["parameters"]["header"]
export const revalidate: ProductsHeaders = { "If-None-Match": 'W/"abc"' }
type Plans = paths["/api/v1/plans"]["get"]["responses"][200]["content"]["application/json"]
// null: no monthly limit
export const quotaOf = (list: Plans): number | null | undefined => list.data.find((plan) => plan.id === "pro")?.monthlyDesignQuota
type Assets = paths["/api/v1/designs/{id}/assets"]["get"]
export const assetsQuery: NonNullable<Assets["parameters"]["query"]> = { limit: 50 }
export const assetsNext = (page: Assets["responses"][200]["content"]["application/json"]): string | null => page.nextCursor
type DeleteAsset = paths["/api/v1/designs/{id}/assets/{assetId}"]["delete"]
export const deleteAsset: DeleteAsset["parameters"]["path"] = { id: "3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a", assetId: "4f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a" }
export const assetInUse = (problem: DeleteAsset["responses"][409]["content"]["application/problem+json"]): string => problem.code
type Jobs = paths["/api/v1/designs/{id}/jobs"]["get"]
export const jobsQuery: NonNullable<Jobs["parameters"]["query"]> = { limit: 20, cursor: "eyJrIjoxfQ" }
// @ts-expect-error a page size is a number
export const jobsStringLimit: NonNullable<Jobs["parameters"]["query"]> = { limit: "20" }
export const newestJob = (page: Jobs["responses"][200]["content"]["application/json"]): string | undefined => page.data[0]?.status
type Sessions = paths["/api/v1/users/me/sessions"]["get"]["responses"][200]["content"]["application/json"]
export const thisDevice = (list: Sessions): string | undefined => list.data.find((session) => session.current)?.description
type EndSession = paths["/api/v1/users/me/sessions/{sessionId}"]["delete"]
export const endSession: EndSession["parameters"]["path"] = { sessionId: "EQpcWKCRh6WcLo5rpZ1noQ" }
export const ended: EndSession["responses"][204]["content"] = undefined as never
`

const folder = mkdtempSync(join(tmpdir(), "customify-openapi-ts-"))
afterAll(() => rmSync(folder, { recursive: true, force: true }))

describe("the OpenAPI document through openapi-typescript", () => {
  it("generates types that accept a frontend's calls and refuse wrong ones", async () => {
    const document = OpenApi.fromApi(CoreApi)
    const types = astToString(await openapiTS(document as never, { silent: true }))
    writeFileSync(join(folder, "schema.ts"), types)
    writeFileSync(join(folder, "sample.ts"), sample)
    const program = ts.createProgram([join(folder, "sample.ts")], {
      strict: true,
      noEmit: true,
      exactOptionalPropertyTypes: true,
      allowImportingTsExtensions: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2022.d.ts"],
      types: []
    })
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) =>
      `${diagnostic.file?.fileName.split("/").at(-1) ?? ""}:${
        diagnostic.file === undefined || diagnostic.start === undefined
          ? ""
          : diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1
      } ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`
    )
    expect(diagnostics).toEqual([])
  }, 60_000)
})
