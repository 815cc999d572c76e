import { Option } from "effect"
import type { HttpServerRequest } from "effect/http"
import { describe, expect, it } from "vitest"
import { makeClientIp } from "../../src/http/ClientIp.ts"

/**
 * review14: "can a client pick its bucket?" The rate limit (RATE_LIMIT_PER_MINUTE) and the login
 * throttle's (email, address) pair key on the address exactly as written. An IPv6 client holds
 * at least a /64 (2^64 addresses it may source from), so every request can land in a fresh bucket;
 * and one address spelled two ways (a proxy writing upper case or leading zeros) is two buckets.
 */
const request = (peer: string, headers: Record<string, string> = {}) =>
  ({ remoteAddress: Option.some(peer), headers }) as unknown as HttpServerRequest.HttpServerRequest

describe("client address buckets", () => {
  const direct = makeClientIp([])
  const proxied = makeClientIp(["10.0.0.0/8"])

  it("two addresses of one IPv6 /64 (one host, one subscriber) share a bucket", () => {
    expect(direct(request("2001:db8:1:2::1"))).toBe(direct(request("2001:db8:1:2:dead:beef:0:42")))
  })

  it("one IPv6 address is one bucket however a proxy spells it", () => {
    const a = proxied(request("10.0.0.1", { "x-forwarded-for": "2001:db8::1" }))
    expect(proxied(request("10.0.0.1", { "x-forwarded-for": "2001:DB8::1" }))).toBe(a)
    expect(proxied(request("10.0.0.1", { "x-forwarded-for": "2001:0db8:0000:0000:0000:0000:0000:0001" }))).toBe(a)
  })
})
