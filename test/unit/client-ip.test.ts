import { Option } from "effect"
import type { HttpServerRequest } from "effect/http"
import { describe, expect, it } from "vitest"
import { makeClientIp } from "../../src/http/ClientIp.ts"

/** Just what `makeClientIp` reads of a request: the socket's peer and the headers. */
const request = (peer: string | undefined, headers: Record<string, string> = {}) =>
  ({
    remoteAddress: peer === undefined ? Option.none() : Option.some(peer),
    headers
  }) as unknown as HttpServerRequest.HttpServerRequest

const xff = (value: string) => ({ "x-forwarded-for": value })

describe("makeClientIp without trusted proxies", () => {
  const clientIp = makeClientIp([])

  it("is the socket's peer address, whatever X-Forwarded-For claims", () => {
    expect(clientIp(request("198.51.100.9"))).toBe("198.51.100.9")
    expect(clientIp(request("198.51.100.9", xff("203.0.113.5")))).toBe("198.51.100.9")
    expect(clientIp(request("198.51.100.9", xff("203.0.113.5, 10.0.0.1")))).toBe("198.51.100.9")
  })

  it("is 'unknown' without a socket, X-Forwarded-For or not", () => {
    expect(clientIp(request(undefined))).toBe("unknown")
    expect(clientIp(request(undefined, xff("203.0.113.5")))).toBe("unknown")
  })

  it("normalises an IPv4-mapped IPv6 peer", () => {
    expect(clientIp(request("::ffff:198.51.100.9"))).toBe("198.51.100.9")
  })
})

describe("makeClientIp behind a trusted proxy", () => {
  it("takes the rightmost untrusted hop when the peer is the trusted proxy", () => {
    const clientIp = makeClientIp(["10.0.0.1"])
    expect(clientIp(request("10.0.0.1", xff("203.0.113.5")))).toBe("203.0.113.5")
    // The leftmost hops are whatever the client sent: only the one the proxy appended counts.
    expect(clientIp(request("10.0.0.1", xff("1.2.3.4, 203.0.113.5")))).toBe("203.0.113.5")
    expect(clientIp(request("10.0.0.1", xff("1.2.3.4,203.0.113.5")))).toBe("203.0.113.5")
  })

  it("reads hops written with a port or in brackets, as some load balancers write them", () => {
    const clientIp = makeClientIp(["10.0.0.0/8"])
    expect(clientIp(request("10.0.0.1", xff("203.0.113.5:41234")))).toBe("203.0.113.5")
    expect(clientIp(request("10.0.0.1", xff("[2001:db8::7]:443")))).toBe("2001:db8::7")
    expect(clientIp(request("10.0.0.1", xff("[2001:db8::7]")))).toBe("2001:db8::7")
    expect(clientIp(request("10.0.0.1", xff("2001:db8::7")))).toBe("2001:db8::7")
    expect(clientIp(request("10.0.0.1", xff("198.51.100.1:80, 10.0.0.7:5000")))).toBe("198.51.100.1")
    // Two clients behind the proxy stay two buckets.
    expect(clientIp(request("10.0.0.1", xff("198.51.100.2:1")))).not.toBe(clientIp(request("10.0.0.1", xff("198.51.100.3:1"))))
    // Not an address with a port: still garbage, so the peer.
    expect(clientIp(request("10.0.0.1", xff("203.0.113.5:99999x")))).toBe("10.0.0.1")
    expect(clientIp(request("10.0.0.1", xff("[2001:db8::7]x")))).toBe("10.0.0.1")
  })

  it("skips every trusted hop of a CIDR range", () => {
    const clientIp = makeClientIp(["10.0.0.0/8"])
    expect(clientIp(request("10.0.0.9", xff("6.6.6.6, 203.0.113.5, 10.1.2.3, 10.200.0.4")))).toBe("203.0.113.5")
    expect(clientIp(request("10.255.255.255", xff("203.0.113.5")))).toBe("203.0.113.5")
  })

  it("ignores the X-Forwarded-For of an untrusted peer", () => {
    const clientIp = makeClientIp(["10.0.0.1"])
    expect(clientIp(request("198.51.100.9", xff("203.0.113.5")))).toBe("198.51.100.9")
    expect(clientIp(request("10.0.0.2", xff("203.0.113.5")))).toBe("10.0.0.2")
    expect(clientIp(request(undefined, xff("203.0.113.5")))).toBe("unknown")
    const range = makeClientIp(["10.0.0.0/8"])
    expect(range(request("11.0.0.1", xff("203.0.113.5")))).toBe("11.0.0.1")
  })

  it("falls back to the peer on a garbage hop, and on a missing or empty header", () => {
    const clientIp = makeClientIp(["10.0.0.0/8"])
    expect(clientIp(request("10.0.0.1", xff("203.0.113.5, not-an-ip")))).toBe("10.0.0.1")
    expect(clientIp(request("10.0.0.1", xff("203.0.113.5, 10.0.0.7, <script>")))).toBe("10.0.0.1")
    expect(clientIp(request("10.0.0.1"))).toBe("10.0.0.1")
    expect(clientIp(request("10.0.0.1", xff("")))).toBe("10.0.0.1")
    expect(clientIp(request("10.0.0.1", xff(" , ")))).toBe("10.0.0.1")
  })

  it("normalises IPv4-mapped IPv6 peers and hops before checking them", () => {
    const clientIp = makeClientIp(["10.0.0.1"])
    expect(clientIp(request("::ffff:10.0.0.1", xff("203.0.113.5")))).toBe("203.0.113.5")
    expect(clientIp(request("::ffff:10.0.0.1", xff("::ffff:203.0.113.5, ::ffff:10.0.0.1")))).toBe("203.0.113.5")
    expect(clientIp(request("::ffff:198.51.100.9", xff("203.0.113.5")))).toBe("198.51.100.9")
  })

  it("matches IPv6 proxies by address and by CIDR range", () => {
    const clientIp = makeClientIp(["2001:db8::/32"])
    expect(clientIp(request("2001:db8::1", xff("2400:cb00::1, 2001:db8:ffff::2")))).toBe("2400:cb00::1")
    expect(clientIp(request("2001:db9::1", xff("2400:cb00::1")))).toBe("2001:db9::1")
    const single = makeClientIp(["fd00::1", "10.0.0.0/8"])
    expect(single(request("fd00::1", xff("198.51.100.20, 10.3.3.3")))).toBe("198.51.100.20")
    expect(single(request("fd00::2", xff("198.51.100.20")))).toBe("fd00::2")
  })
})
