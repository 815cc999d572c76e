import { Option } from "effect"
import type { HttpServerRequest } from "effect/http"
import { describe, expect, it } from "vitest"
import { addressBucket, makeClientIp } from "../../src/http/ClientIp.ts"

/**
 * The rate limit and the login throttle count per address bucket: a client must not be able to
 * pick a fresh one. An IPv6 client holds at least a /64 (2^64 addresses to source from), and one
 * address can be spelled many ways (a proxy writing upper case or leading zeros).
 */
const request = (peer: string, headers: Record<string, string> = {}) =>
  ({ remoteAddress: Option.some(peer), headers }) as unknown as HttpServerRequest.HttpServerRequest

describe("address buckets", () => {
  const direct = makeClientIp([])
  const proxied = makeClientIp(["10.0.0.0/8"])
  const bucketOf = (clientIp: (request: HttpServerRequest.HttpServerRequest) => string, r: HttpServerRequest.HttpServerRequest) =>
    addressBucket(clientIp(r))

  it("two addresses of one IPv6 /64 (one host, one subscriber) share a bucket", () => {
    expect(bucketOf(direct, request("2001:db8:1:2::1"))).toBe(bucketOf(direct, request("2001:db8:1:2:dead:beef:0:42")))
    expect(bucketOf(direct, request("2001:db8:1:3::1"))).not.toBe(bucketOf(direct, request("2001:db8:1:2::1")))
  })

  it("one IPv6 address is one bucket however a proxy spells it", () => {
    const a = bucketOf(proxied, request("10.0.0.1", { "x-forwarded-for": "2001:db8::1" }))
    expect(bucketOf(proxied, request("10.0.0.1", { "x-forwarded-for": "2001:DB8::1" }))).toBe(a)
    expect(bucketOf(proxied, request("10.0.0.1", { "x-forwarded-for": "2001:0db8:0000:0000:0000:0000:0000:0001" }))).toBe(a)
    expect(bucketOf(proxied, request("10.0.0.1", { "x-forwarded-for": "[2001:db8::1]:443" }))).toBe(a)
  })

  it("IPv4 addresses are buckets of their own", () => {
    expect(addressBucket("203.0.113.5")).toBe("203.0.113.5")
    expect(addressBucket("203.0.113.6")).not.toBe(addressBucket("203.0.113.5"))
  })
})
