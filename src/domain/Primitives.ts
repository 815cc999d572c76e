import { Schema, SchemaTransformation } from "effect"

/**
 * Building blocks for schemas whose OpenAPI form says what the server guarantees: every string
 * bounded, every integer with its `format`. Each bound here is enforced, or implied by a check
 * that is (see `npm run lint:openapi` and docs/decisions/0010-openapi-lint.md).
 */

// ---- Strings ----------------------------------------------------------------------------------

/**
 * Refuses U+0000 (NUL), which PostgreSQL stores in neither `text` nor `jsonb`, and lone
 * surrogates, which have no UTF-8 form (`jsonb` refuses them, `text` silently stores U+FFFD, so
 * the answer would echo what the database does not hold): a value holding one must be refused
 * as input, not fail or alter the statement that writes it. Invisible in the document (JSON
 * Schema has no way to say it short of a pattern on every string).
 */
export const isStorableText = Schema.makeFilter(
  (text: string) =>
    text.includes("\u0000")
      ? "Expected text without NUL characters (U+0000)"
      : !text.isWellFormed()
      ? "Expected well-formed text (a lone surrogate has no UTF-8 encoding)"
      : true,
  { expected: "storable text: no NUL characters, no lone surrogates" }
)

/**
 * A string matching `regExp`, with the `maxLength` the pattern implies also declared. The
 * pattern aborts on failure, so a mismatch is reported once, as before, and the length check
 * can only fail on its own when `maxLength` is tighter than the pattern.
 */
export const matching = (regExp: RegExp, maxLength: number, annotations?: Schema.Annotations.Filter) =>
  Schema.String.check(isStorableText.abort(), Schema.isPattern(regExp, annotations).abort(), Schema.isMaxLength(maxLength))

/**
 * Text of at most `maxLength` characters, as any request may carry it: no NUL. Every string an
 * endpoint accepts is one of these building blocks (a test walks the API's request schemas).
 */
export const text = (maxLength: number) => Schema.String.check(isStorableText, Schema.isMaxLength(maxLength))

/** Both ways: whatever a value's spelling, its canonical one. */
const canonicalLowerCase = SchemaTransformation.transform({
  decode: (text: string) => text.toLowerCase(),
  encode: (text: string) => text.toLowerCase()
})

/**
 * A UUID in any case on the way in (36 characters, which the pattern implies), decoded to its
 * canonical lower-case form (RFC 9562 §4) and always encoded so: every id in a path, a query or
 * a body reaches cache keys, invalidations, policies and SQL in one spelling, whatever case the
 * client wrote (.NET clients send upper-case GUIDs). The document shows the form that arrives
 * (`format: uuid`).
 */
export const Uuid = Schema.String.check(isStorableText.abort(), Schema.isUUID().abort(), Schema.isMaxLength(36)).pipe(
  Schema.decodeTo(Schema.String, canonicalLowerCase)
)

/**
 * Input text of at most `maxLength` characters as sent, trimmed before it is checked further
 * and stored (`Schema.Trim` with a bound on what arrives, so the document can state it). The
 * document shows the form that arrives: a `description` goes there.
 */
export const trimmedInput = (maxLength: number, description?: string) =>
  Schema.String.annotate(description === undefined ? {} : { description }).check(isStorableText, Schema.isMaxLength(maxLength)).pipe(
    Schema.decodeTo(Schema.Trimmed, SchemaTransformation.trim())
  )

const truncate = (text: string, maxLength: number) => {
  if (text.length <= maxLength) return text
  let kept = text.slice(0, maxLength - 1)
  // Never leave half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1)
  return `${kept}…`
}

/**
 * Free text the server writes (a problem's `detail`, a validation message): at most `maxLength`
 * characters on the wire. A longer text is cut, ending in "…", when it is sent, never refused,
 * so no message can turn an answer into a 500. A `description` goes on the wire form, the one
 * the document shows.
 */
export const truncatedText = (maxLength: number, description?: string) =>
  Schema.String.annotate(description === undefined ? {} : { description }).check(Schema.isMaxLength(maxLength)).pipe(
    Schema.decodeTo(
      Schema.String,
      SchemaTransformation.transform({ decode: (text: string) => text, encode: (text: string) => truncate(text, maxLength) })
    )
  )

/**
 * An instant as `Date.prototype.toISOString` writes it (UTC, milliseconds): 24 characters, 27
 * for years beyond 9999.
 */
export const TimestampString = Schema.String.annotate({ format: "date-time" }).check(
  Schema.isPattern(/^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/u, {
    expected: "an ISO 8601 UTC timestamp like 2025-01-31T12:00:00.000Z"
  }).abort(),
  Schema.isMaxLength(27)
)

/**
 * A point in time: a `Date` in code, in SQL rows and in typed clients; a `TimestampString` in
 * JSON and in the OpenAPI document (`format: date-time`).
 */
export const Timestamp = Schema.Date.annotate({
  toCodecJson: () => Schema.link<Date>()(TimestampString, SchemaTransformation.dateFromString)
})

// ---- Integers ---------------------------------------------------------------------------------

export const INT32_MIN = -2_147_483_648
export const INT32_MAX = 2_147_483_647

/**
 * Declares `format` in JSON Schema and checks nothing: used only after checks that keep the
 * value in that format's range.
 */
const declaresFormat = (format: "int32" | "int64") =>
  Schema.makeFilter<number>(() => undefined, { toJsonSchema: () => ({ format }) })

/** A 32-bit integer (e.g. a PostgreSQL `integer` column): `format: int32`. */
export const Int32 = Schema.Int.check(Schema.isBetween({ minimum: INT32_MIN, maximum: INT32_MAX }), declaresFormat("int32"))

/**
 * An integer from `minimum` to `maximum`, bounds that lie within 32 bits: `format: int32` with
 * no check beyond the bounds themselves.
 */
export const int32Between = (minimum: number, maximum: number) => {
  if (minimum < INT32_MIN || maximum > INT32_MAX) throw new RangeError(`${minimum}..${maximum} is not within 32 bits`)
  return Schema.Int.check(Schema.isBetween({ minimum, maximum }), declaresFormat("int32"))
}

/** Any safe integer (they all fit in 64 bits, e.g. a PostgreSQL `bigint` column): `format: int64`. */
export const Int64 = Schema.Int.check(declaresFormat("int64"))

/**
 * The JSON Schema keyword that asks the OpenAPI transform (src/api/Gateway.ts) to document a
 * parameter that travels as digits as the integer it means, with its bounds.
 */
export const INTEGER_PARAMETER_KEYWORD = "x-customify-integer"

/**
 * A whole number from 1 to `maximum` written in decimal digits, as a query parameter sends it
 * (e.g. `limit`): digits only (no sign, exponent or decimals), decoded strictly; documented as
 * an `integer` from 1 to `maximum` (generated clients send numbers). `description` goes on the
 * string, the form the document shows.
 */
export const positiveIntFromString = (maximum: number, description: string) => {
  const digits = String(maximum).length
  const documentedAsInteger = Schema.makeFilter<string>(() => undefined, {
    toJsonSchema: () => ({ [INTEGER_PARAMETER_KEYWORD]: { type: "integer", format: "int32", minimum: 1, maximum } })
  })
  return Schema.String.annotate({ description }).check(
    documentedAsInteger,
    isStorableText.abort(),
    // No leading zero: `010` is not how a client writes 10 (and means 8 to some parsers).
    Schema.isPattern(new RegExp(`^[1-9][0-9]{0,${digits - 1}}$`, "u"), { expected: `a whole number from 1 to ${maximum}` }).abort(),
    Schema.isMaxLength(digits)
  ).pipe(Schema.decodeTo(int32Between(1, maximum), SchemaTransformation.numberFromString))
}
