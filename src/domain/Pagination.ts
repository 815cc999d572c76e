import { Effect, Result, Schema, type SchemaAST, SchemaIssue, SchemaTransformation } from "effect"
import { Base64Url } from "effect/encoding"
import { InvalidCursor } from "./CommonErrors.ts"

/**
 * Keyset cursors: what a list answers as `nextCursor` and takes back as `cursor`. They are opaque
 * to clients, so a cursor no page could have produced (forged, truncated, re-encoded, of another
 * shape) is refused whole as `InvalidCursor` (400 `invalid_cursor`), never repaired nor half
 * read: whatever it decodes to is checked like any other input before it reaches SQL.
 */

const BASE64URL = /^[A-Za-z0-9_-]*$/u
const utf8 = new TextDecoder("utf-8", { fatal: true })
const encoder = new TextEncoder()

const notACursor = (input: string, options: SchemaAST.ParseOptions) =>
  Effect.fail(new SchemaIssue.InvalidValue({ expected: "base64url of UTF-8 text" }, input, options))

/**
 * Unpadded base64url of UTF-8 text, as the server writes it. Padding, `+` or `/`, and bytes that
 * are not UTF-8 are refused rather than read leniently.
 */
export const Base64UrlText = Schema.String.pipe(Schema.decodeTo(
  Schema.String,
  SchemaTransformation.transformEffect({
    decode: (text: string, options) => {
      if (!BASE64URL.test(text)) return notACursor(text, options)
      const bytes = Base64Url.decode(text)
      if (Result.isFailure(bytes)) return notACursor(text, options)
      try {
        return Effect.succeed(utf8.decode(bytes.success))
      } catch {
        return notACursor(text, options)
      }
    },
    encode: (text: string) => Effect.succeed(Base64Url.encode(encoder.encode(text)))
  })
))

/**
 * The instants a cursor may name: 0001-01-01 to 9999-12-31 UTC, in milliseconds. Every stored
 * row's creation time lies within (JavaScript dates and PostgreSQL timestamps both hold it);
 * beyond it a number makes an invalid date (1e20, 1e400) or one PostgreSQL refuses (-1e16).
 */
export const MIN_CURSOR_MILLIS = -62_135_596_800_000
export const MAX_CURSOR_MILLIS = 253_402_300_799_999

const CursorInstant = Schema.Int.check(Schema.isBetween({ minimum: MIN_CURSOR_MILLIS, maximum: MAX_CURSOR_MILLIS })).pipe(
  Schema.decodeTo(Schema.Date, SchemaTransformation.dateFromMillis)
)

/** Strictly: a cursor with a member no page writes is not one of ours. */
const STRICT = { onExcessProperty: "error" } as const
/**
 * What a page hands out is written as the row holds it, even a row written around the API that
 * today's checks would refuse: an unusual row must not turn its page into a 500.
 */
const AS_STORED = { disableChecks: true } as const

/**
 * A cursor naming a row by its creation time and id (lists newest first): base64url of
 * `{"c": milliseconds, "i": id}`, the id decoded by `id` (a canonical UUID).
 */
export const makeKeysetCursor = <Id extends string>(id: Schema.Codec<Id, string>) => {
  const schema = Base64UrlText.pipe(Schema.decodeTo(Schema.fromJsonString(
    Schema.Struct({ createdAt: CursorInstant, id }).pipe(Schema.encodeKeys({ createdAt: "c", id: "i" }))
  )))
  const decode = Schema.decodeUnknownEffect(schema)
  const encode = Schema.encodeSync(schema)
  return {
    encode: (last: { readonly createdAt: Date; readonly id: Id }): string => encode(last, AS_STORED),
    decode: (cursor: string): Effect.Effect<{ readonly createdAt: Date; readonly id: Id }, InvalidCursor> =>
      decode(cursor, STRICT).pipe(Effect.mapError(() => new InvalidCursor()))
  }
}

/** A cursor holding one text value (e.g. the last email of a page), checked by `value`. */
export const makeTextCursor = <V extends string>(value: Schema.Codec<V, string>) => {
  const schema = Base64UrlText.pipe(Schema.decodeTo(value))
  const decode = Schema.decodeUnknownEffect(schema)
  const encode = Schema.encodeSync(schema)
  return {
    encode: (last: V): string => encode(last, AS_STORED),
    decode: (cursor: string): Effect.Effect<V, InvalidCursor> =>
      decode(cursor).pipe(Effect.mapError(() => new InvalidCursor()))
  }
}

/** Items per page when a list request names no `limit`. */
export const DEFAULT_PAGE_SIZE = 20

/** A row of a keyset list: ordered by creation time, then id. */
export interface KeysetRow {
  readonly createdAt: Date
  readonly id: string
}

/** The order of every keyset list: newest first, ties by id descending (as SQL's `ORDER BY created_at DESC, id DESC`). */
export const newestFirst = (a: KeysetRow, b: KeysetRow): number =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** Whether `row` comes strictly after `cursor` in that order (every row does without a cursor). */
export const comesAfter = (cursor: KeysetRow | undefined) => (row: KeysetRow): boolean =>
  cursor === undefined || newestFirst(cursor, row) < 0

/**
 * One page from up to `limit + 1` rows read in list order: the first `limit`, and the cursor of
 * the last of them when there was one more row.
 */
export const keysetPage = <Row extends KeysetRow>(
  rows: ReadonlyArray<Row>,
  limit: number,
  encode: (last: Row) => string
): { readonly data: ReadonlyArray<Row>; readonly nextCursor: string | null } => {
  const data = rows.slice(0, limit)
  return { data, nextCursor: rows.length > limit ? encode(data[data.length - 1]!) : null }
}
