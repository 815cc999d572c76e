import { Option } from "effect"
import { describe, expect, it } from "vitest"
import { answerOf, designOf, entryCodec } from "../../src/features/designs/DesignAnswers.ts"
import { entityTagOf, noneMatchNames, versionFromIfMatch } from "../../src/http/EntityTags.ts"
import type { Design, DesignId } from "../../src/domain/Design.ts"
import type { UserId } from "../../src/domain/User.ts"
import { validDocument } from "../support/http.ts"

describe("entity tags", () => {
  it("If-None-Match: weak comparison, lists, * and nothing for what does not parse", () => {
    const tag = entityTagOf(3)
    expect(tag).toBe("\"v3\"")
    // RFC 9110 §5.6.1.2: empty list elements (",,", a leading or trailing comma) are accepted.
    for (const header of ["\"v3\"", "W/\"v3\"", " \"v1\", \"v3\" ", "\"v1\",W/\"v3\"", "*", " * ", "\"v1\",, \"v3\"", ", ,\"v3\",", "\"v1\" , , W/\"v3\""]) {
      expect(noneMatchNames(header, tag), header).toBe(true)
    }
    for (const header of [undefined, "", "v3", "\"v33\"", "\"v3", "W/\"v30\", \"v4\"", "\"v1\" junk \"v3\"", "**"]) {
      expect(noneMatchNames(header, tag), String(header)).toBe(false)
    }
  })

  it("If-Match: the ETag as answered, and the former spellings", () => {
    for (const header of ["\"v3\"", "W/\"v3\"", "\"3\"", "3", "v3"]) expect(versionFromIfMatch(header), header).toBe(3)
    for (const header of ["\"v\"", "*", "\"v3\", \"v4\"", "x3"]) expect(versionFromIfMatch(header), header).toBeUndefined()
  })
})

describe("cached design answers", () => {
  const design: Design = {
    id: "0b0c8f3e-8a1d-4c55-9a43-2f6f0f1d2a10" as DesignId,
    ownerId: "5d1b2c3a-1111-4222-8333-444455556666" as UserId,
    name: "A name with spaces { and braces }",
    productType: "mug",
    status: "draft",
    document: validDocument(),
    version: 12,
    createdAt: new Date("2026-12-06T06:00:00.000Z"),
    updatedAt: new Date("2026-12-06T06:00:01.000Z")
  }

  it("stores owner and version before the body, and reads them back without parsing it", () => {
    const answer = answerOf(design)
    const entry = entryCodec.encode(answer)
    expect(entry.startsWith(`${design.ownerId} 12 {`)).toBe(true)
    expect(entryCodec.decode(entry)).toEqual(Option.some(answer))
    expect(designOf(answer)).toEqual(Option.some(design))
    expect(JSON.parse(answer.body)).toMatchObject({ id: design.id, version: 12, createdAt: "2026-12-06T06:00:00.000Z" })
  })

  it("refuses entries of the former all-JSON format and damaged ones (the reader replaces them)", () => {
    const answer = answerOf(design)
    const truncated = `${design.ownerId} 12 ${answer.body.slice(0, -1)}`
    for (const entry of [answer.body, `${design.ownerId} 0 ${answer.body}`, `${design.ownerId} 12 `, `!w:${design.ownerId}`, "", truncated]) {
      expect(Option.isNone(entryCodec.decode(entry)), entry.slice(0, 60)).toBe(true)
    }
  })
})
