import { SchemaAST } from "effect"
import { HttpApi } from "effect/http-api"
import { CoreApi } from "../../src/api/Api.ts"

/**
 * Every string a request may carry, read from the HttpApi definition: each endpoint's path
 * parameters, query, headers and JSON body, walked on their wire (encoded) form. For tests that
 * must cover every string input, and not only those someone remembered.
 */
export interface RequestString {
  /** `group.endpoint`, like `EndpointInfo.key` in ./security.ts */
  readonly key: string
  readonly location: "path" | "query" | "header" | "body"
  /** Dotted, array elements as `*`, e.g. `document.layers.*.content` */
  readonly path: string
  /** The `expected` of each check on the string, in order. */
  readonly checks: ReadonlyArray<string>
}

const expectedOf = (check: SchemaAST.Check<any>): string => {
  const annotations = check.annotations as { readonly expected?: unknown } | undefined
  return typeof annotations?.expected === "string" ? annotations.expected : check._tag
}

const walk = (ast: SchemaAST.AST, path: ReadonlyArray<string>, found: (path: string, ast: SchemaAST.String) => void, depth = 0): void => {
  if (depth > 50) return
  switch (ast._tag) {
    case "String":
      return found(path.join("."), ast)
    case "Objects":
      for (const property of ast.propertySignatures) walk(property.type, [...path, String(property.name)], found, depth + 1)
      for (const index of ast.indexSignatures) walk(index.type, [...path, "*"], found, depth + 1)
      return
    case "Arrays":
      for (const element of ast.elements) walk(element, [...path, "*"], found, depth + 1)
      for (const rest of ast.rest) walk(rest, [...path, "*"], found, depth + 1)
      return
    case "Union":
      for (const member of ast.types) walk(member, path, found, depth + 1)
      return
    case "Suspend":
      return walk(ast.thunk(), path, found, depth + 1)
    case "Literal":
    case "Number":
    case "Boolean":
    case "Null":
    case "Undefined":
      return
    default:
      throw new Error(`requestStrings: no walk for ${ast._tag} at ${path.join(".")}`)
  }
}

export const requestStrings = (): ReadonlyArray<RequestString> => {
  const all: Array<RequestString> = []
  HttpApi.reflect(CoreApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, group }) => {
      const key = `${group.identifier}.${endpoint.identifier}`
      const add = (location: RequestString["location"]) => (path: string, ast: SchemaAST.String) => {
        all.push({ key, location, path, checks: (ast.checks ?? []).map(expectedOf) })
      }
      const parts = [["path", endpoint.params], ["query", endpoint.query], ["header", endpoint.headers]] as const
      for (const [location, schema] of parts) {
        if (schema !== undefined) walk(SchemaAST.toEncoded(schema.ast), [], add(location))
      }
      for (const payload of endpoint.payload.values()) {
        for (const schema of payload.schemas) walk(SchemaAST.toEncoded(schema.ast), [], add("body"))
      }
    }
  })
  return all
}
