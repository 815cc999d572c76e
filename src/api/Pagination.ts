import { Schema } from "effect"
import { matching, positiveIntFromString, text } from "../domain/Primitives.ts"

/** Keyset pagination, the same on every list: `limit` and `cursor` in, `nextCursor` out. */

/** The most items one page of any list holds (the largest `limit`). */
export const MAX_PAGE_SIZE = 100

export const Limit = positiveIntFromString(MAX_PAGE_SIZE, `Items per page, 1 to ${MAX_PAGE_SIZE}; default 20`)

/** A cursor from a previous page, as the client sends it back. */
export const Cursor = text(512)

/** A page's cursor for designs and orders: base64url of a small JSON object (under 100 characters). */
export const NextCursor = Schema.NullOr(matching(/^[A-Za-z0-9_-]{1,512}$/u, 512)).annotate({
  description: "Pass as `cursor` for the next page; null on the last page"
})

/** The query of a list that takes no filter: `limit` and `cursor`. */
export const pageQuery = { limit: Schema.optional(Limit), cursor: Schema.optional(Cursor) }

/** One page of a keyset list of `item`s (the document's component is named `identifier`). */
export const pageOf = <S extends Schema.Top>(item: S, identifier: string) =>
  Schema.Struct({
    data: Schema.Array(item).check(Schema.isMaxLength(MAX_PAGE_SIZE)),
    nextCursor: NextCursor
  }).annotate({ identifier })
