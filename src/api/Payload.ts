import { Schema, SchemaTransformation } from "effect"

/**
 * A JSON body whose members are all optional may be left out: no body, an empty one or `null`
 * reads as `{}`. Declared as the endpoint's payloads (`payload: omittableBody(schema)`): the
 * second one, encoded as exactly `null`, makes the server hand an empty body to the schemas as
 * `null` (instead of refusing it), and the document say the body is not required. Every
 * endpoint whose payload accepts `{}` declares it this way (test/unit/omittable-bodies.test.ts).
 */
export const omittableBody = <S extends Schema.Top>(schema: S) =>
  [
    schema,
    Schema.Null.pipe(Schema.decodeTo(
      Schema.toType(schema),
      SchemaTransformation.transform<S["Type"], null>({
        decode: () => ({}) as S["Type"],
        encode: () => null
      })
    ))
  ] as const
