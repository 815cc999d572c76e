import { OpenApi } from "effect/http-api"
import { describe, expect, it } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"

type Json = Record<string, any>
const spec = OpenApi.fromApi(CoreApi) as unknown as Json

/** The members of a JSON body's object schema, or undefined when it is not one object. */
const objectOf = (schema: Json): Json | undefined => {
  const branches = ((schema["anyOf"] ?? [schema]) as Array<Json>).filter((branch) => branch["type"] !== "null")
  if (branches.length !== 1) return undefined
  const branch = branches[0]!
  const resolved = branch["$ref"] === undefined ? branch : spec["components"]["schemas"][String(branch["$ref"]).split("/").at(-1)!]
  return resolved["type"] === "object" ? resolved : undefined
}

describe("bodies whose members are all optional", () => {
  it("may be left out on every endpoint (declared with omittableBody), and only those", () => {
    const operations = Object.entries(spec["paths"] as Json).flatMap(([path, byMethod]) =>
      Object.entries(byMethod as Json).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation: operation as Json }))
    )
    const bodies = operations.flatMap(({ name, operation }) => {
      const schema = operation["requestBody"]?.["content"]?.["application/json"]?.["schema"] as Json | undefined
      const object = schema === undefined ? undefined : objectOf(schema)
      return object === undefined ? [] : [{ name, allOptional: (object["required"] ?? []).length === 0, required: operation["requestBody"]["required"] }]
    })
    expect(bodies.length).toBeGreaterThan(10)
    for (const body of bodies) expect(body.required, body.name).toBe(!body.allOptional)
    expect(bodies.filter((body) => body.allOptional).map((body) => body.name)).toContain("POST /api/v1/designs/{id}/render")
  })
})
