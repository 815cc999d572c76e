import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { Limit } from "../../src/api/Pagination.ts"
import { MAX_DETAIL_LENGTH, MAX_FIELD_ERRORS, NotFound, ValidationFailed } from "../../src/api/Problems.ts"
import { DesignName } from "../../src/domain/Design.ts"
import { Int32, int32Between, TimestampString, Uuid } from "../../src/domain/Primitives.ts"

/**
 * The bounds the OpenAPI document declares (`npm run lint:openapi`) hold on the wire: what the
 * server writes is cut to fit rather than refused, and what it reads is checked as declared.
 */
const jsonSchema = (schema: Schema.Top) => Schema.toJsonSchemaDocument(schema).schema
const decode = <A, I>(schema: Schema.Codec<A, I>) => (input: unknown) =>
  Schema.decodeUnknownExit(schema)(input, { errors: "all" })

describe("problems", () => {
  it("cut a long detail to MAX_DETAIL_LENGTH characters on the wire, ending in an ellipsis", () => {
    const encoded = Schema.encodeSync(NotFound)(new NotFound({ detail: "x".repeat(10_000) }))
    expect(encoded.detail).toHaveLength(MAX_DETAIL_LENGTH)
    expect(encoded.detail?.endsWith("…")).toBe(true)
    expect(Schema.encodeSync(NotFound)(new NotFound({ detail: "short" })).detail).toBe("short")
  })

  it("never split a surrogate pair when cutting", () => {
    const encoded = Schema.encodeSync(NotFound)(new NotFound({ detail: "😀".repeat(1_000) })).detail!
    expect(encoded.length).toBeLessThanOrEqual(MAX_DETAIL_LENGTH)
    expect(encoded).toMatch(/^(?:😀)+…$/u)
  })

  it("list at most MAX_FIELD_ERRORS validation errors, the first ones, each path and message cut to 500", () => {
    const errors = Array.from({ length: 250 }, (_, i) => ({
      path: `${"p".repeat(1_000)}${i}`,
      location: "body" as const,
      message: `m${i}`
    }))
    const encoded = Schema.encodeSync(ValidationFailed)(new ValidationFailed({ errors }))
    expect(encoded.errors).toHaveLength(MAX_FIELD_ERRORS)
    expect(encoded.errors.map((e) => e.message)).toEqual(errors.slice(0, MAX_FIELD_ERRORS).map((e) => e.message))
    expect(Math.max(...encoded.errors.map((e) => e.path.length))).toBe(500)
  })

  it("still decode a problem whose detail is longer than declared (the member is dropped, as RFC 9457 asks)", () => {
    const body = { type: "urn:customify:problem:not_found", status: 404, title: "Not found", code: "not_found", detail: "x".repeat(600) }
    const decoded = Schema.decodeUnknownSync(NotFound)(body)
    expect(decoded.detail).toBeUndefined()
  })
})

describe("primitives", () => {
  it("declare int32 and int64 formats, with the 32-bit range enforced", () => {
    expect(jsonSchema(Int32)).toMatchObject({ type: "integer", format: "int32", minimum: -(2 ** 31), maximum: 2 ** 31 - 1 })
    expect(decode(Int32)(2 ** 31)._tag).toBe("Failure")
    expect(jsonSchema(int32Between(1, 10))).toMatchObject({ format: "int32", minimum: 1, maximum: 10 })
    expect(() => int32Between(0, 2 ** 31)).toThrow(RangeError)
  })

  it("report a malformed UUID once, however long it is", () => {
    const exit = decode(Uuid)("x".repeat(1_000))
    expect(exit._tag).toBe("Failure")
    expect(String(exit)).toContain("Expected a UUID")
    expect(String(exit)).not.toContain("length")
  })

  it("accept the timestamps Date.toISOString writes, and nothing else", () => {
    for (const date of [new Date(0), new Date("2025-01-31T12:00:00Z"), new Date(8.64e15)]) {
      expect(decode(TimestampString)(date.toISOString())._tag, date.toISOString()).toBe("Success")
    }
    expect(decode(TimestampString)("yesterday")._tag).toBe("Failure")
  })

  it("read a page limit in decimal digits only", () => {
    expect(decode(Limit)("100")).toMatchObject({ _tag: "Success", value: 100 })
    for (const bad of ["0", "101", "1e1", "0x10", " 5", "", "9".repeat(10), "010", "05", "00", "+5", "-0"]) expect(decode(Limit)(bad)._tag, bad).toBe("Failure")
  })

  it("bound trimmed input as it arrives: surrounding whitespace counts toward the maximum", () => {
    expect(decode(DesignName)(`  ${"n".repeat(196)}  `)).toMatchObject({ _tag: "Success", value: "n".repeat(196) })
    expect(decode(DesignName)(` ${"n".repeat(200)}`)._tag).toBe("Failure")
    expect(jsonSchema(DesignName)).toMatchObject({ type: "string", maxLength: 200 })
  })
})
