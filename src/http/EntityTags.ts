/**
 * Entity tags of versioned resources (RFC 9110 §8.8.3, §13.1): a resource's version is its
 * strong tag, `"v<version>"`, unique for the resource's lifetime since versions only grow.
 */
export const entityTagOf = (version: number): string => `"v${version}"`

const LISTED_TAG = /(?:W\/)?("[^"]*")/gy
/** Between tags: optional whitespace and commas, empty list elements included (RFC 9110 §5.6.1.2). */
const SEPARATOR = /[ \t]*(?:,[ \t]*)*/y

/**
 * Whether `If-None-Match` names `tag` (or is `*`), by the weak comparison the RFC prescribes for
 * it: `W/"v3"` matches `"v3"`. A header that does not parse as a list of tags matches nothing,
 * so the full answer is sent, as if it were absent.
 */
export const noneMatchNames = (header: string | undefined, tag: string): boolean => {
  if (header === undefined) return false
  const value = header.trim()
  if (value === "*") return true
  if (!value.includes(tag)) return false
  let position = 0
  while (position < value.length) {
    SEPARATOR.lastIndex = position
    SEPARATOR.exec(value)
    position = SEPARATOR.lastIndex
    if (position >= value.length) break
    LISTED_TAG.lastIndex = position
    const match = LISTED_TAG.exec(value)
    if (match === null) return false
    if (match[1] === tag) return true
    position = LISTED_TAG.lastIndex
  }
  return false
}

/** The version an `If-Match` names: `"v3"` (as answered in ETag), `W/"v3"`, `"3"` or `3`. */
export const versionFromIfMatch = (header: string): number | undefined => {
  const match = /^(?:W\/)?"?v?(\d{1,9})"?$/.exec(header.trim())
  return match === null ? undefined : Number(match[1])
}
