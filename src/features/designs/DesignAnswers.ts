import { Option, Schema } from "effect"
import { DesignView } from "../../api/Designs.ts"
import type { EntryCodec } from "../../capabilities/cache/ReadThrough.ts"
import { Design } from "../../domain/Design.ts"
import type { UserId } from "../../domain/User.ts"

/**
 * A design as `GET /designs/{id}` answers it: the response body, encoded once through the API's
 * schema, beside what the read needs without parsing it: the owner (the policy) and the version
 * (the ETag). Cached as it is, so a cache hit writes these bytes without decoding or encoding
 * (ADR 0020). Only live designs are answered: a deleted one is never stored (its key holds a
 * tombstone, ADR 0016).
 */
export interface DesignAnswer {
  readonly ownerId: UserId
  readonly version: number
  /** `DesignView`'s JSON: the same bytes a create or an update of this version answered. */
  readonly body: string
}

const SKIP_CHECKS = { disableChecks: true } as const
const encodeView = Schema.encodeSync(Schema.fromJsonString(Schema.toCodecJson(DesignView)))
const decodeDesign = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.toCodecJson(Design)))

/** Values were checked on their way in; encoding still enforces the structure (ServerApi does the same). */
export const answerOf = (design: Design): DesignAnswer => ({
  ownerId: design.ownerId,
  version: design.version,
  body: encodeView(design, SKIP_CHECKS)
})

/** The design an answer shows, for the use cases that work on it (duplicate, similar designs). */
export const designOf = (answer: DesignAnswer): Option.Option<Design> => decodeDesign(answer.body, SKIP_CHECKS)

const ENTRY = /^([0-9a-f-]{36}) ([1-9]\d{0,9}) (?=\{)/

/**
 * `<ownerId> <version> <body>`: the owner and version readable without touching the JSON.
 * Anything else (an entry of the former all-JSON format, damage) is not an answer: the reader
 * replaces it (ADR 0016).
 */
export const entryCodec: EntryCodec<DesignAnswer> = {
  encode: (answer) => `${answer.ownerId} ${answer.version} ${answer.body}`,
  decode: (entry) => {
    const match = ENTRY.exec(entry)
    // A body cut short (a damaged or truncated entry) is not served: a JSON object ends with "}".
    return match === null || !entry.endsWith("}")
      ? Option.none()
      : Option.some({ ownerId: match[1] as UserId, version: Number(match[2]), body: entry.slice(match[0].length) })
  }
}
