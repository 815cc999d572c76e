import { Schema, SchemaTransformation } from "effect"

/**
 * A JSON body whose members are all optional may be left out: no body, an empty one or `null`
 * reads as `{}` (the server hands an empty body to the schema as `undefined`). The document
 * says the body is not required. Every endpoint whose payload accepts `{}` declares it this
 * way (test/unit/omittable-bodies.test.ts enumerates them).
 */
export const omittableBody = <S extends Schema.Top>(schema: S) =>
  Schema.NullishOr(schema).pipe(Schema.decodeTo(
    Schema.toType(schema),
    SchemaTransformation.transform<S["Type"], S["Type"] | null | undefined>({
      decode: (body) => body ?? ({} as S["Type"]),
      encode: (body) => body
    })
  ))
