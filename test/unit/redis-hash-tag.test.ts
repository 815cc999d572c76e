import fc from "fast-check"
import { expect, it } from "vitest"
import { hashTag } from "../../src/capabilities/cache/CacheStore.ts"

/** What Redis Cluster hashes of a key (CLUSTER KEYSLOT): the first non-empty `{...}`, else the whole key. */
const hashedPart = (key: string) => {
  const open = key.indexOf("{")
  if (open === -1) return key
  const close = key.indexOf("}", open + 1)
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close)
}

it("puts a token bucket's two keys in one slot whatever the key (empty, braces), and distinct keys stay distinct", () => {
  // Effect's store names them `<prefix><key>` and `<prefix><key>:refill`.
  const slotted = (key: string) => [`ratelimit:v1:${hashTag(key)}`, `ratelimit:v1:${hashTag(key)}:refill`].map(hashedPart)
  for (const key of ["", "}", "}x", "a}b", "{", "{}", "ip:10.0.0.1"]) {
    const [bucket, refill] = slotted(key)
    expect(bucket, JSON.stringify(key)).toBe(refill)
  }
  fc.assert(fc.property(fc.string(), fc.string(), (a, b) => {
    expect(slotted(a)[0]).toBe(slotted(a)[1])
    if (a !== b) expect(hashTag(a)).not.toBe(hashTag(b))
  }))
  expect(hashTag("ip:10.0.0.1")).toBe("{ip:10.0.0.1}")
})
