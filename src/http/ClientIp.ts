import { BlockList, isIP } from "node:net"
import { Context, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import type { HttpServerRequest } from "effect/http"

/**
 * A forwarded hop as some load balancers write it: `203.0.113.5:41234`, `[2001:db8::1]:443` or
 * `[2001:db8::1]`, reduced to the address (a bare IPv6 address keeps its colons).
 */
export const withoutPort = (hop: string): string => {
  if (hop.startsWith("[")) {
    const end = hop.indexOf("]")
    const rest = hop.slice(end + 1)
    return end > 0 && (rest === "" || /^:\d{1,5}$/u.test(rest)) ? hop.slice(1, end) : hop
  }
  const colon = hop.indexOf(":")
  return colon > 0 && colon === hop.lastIndexOf(":") && /^\d{1,5}$/u.test(hop.slice(colon + 1)) ? hop.slice(0, colon) : hop
}

/**
 * The caller's IP: the socket's peer address, unless that peer is a trusted proxy
 * (TRUSTED_PROXIES). Then X-Forwarded-For is walked from the right, skipping trusted hops, and
 * the first untrusted address is the client. A client cannot pick its own address by sending
 * the header: untrusted peers' headers are ignored, and only hops a trusted proxy appended count.
 */
export const makeClientIp = (trustedProxies: ReadonlyArray<string>) => {
  const trusted = new BlockList()
  for (const entry of trustedProxies) {
    const [address, prefix] = entry.split("/") as [string, string | undefined]
    const type = isIP(address) === 6 ? "ipv6" : "ipv4"
    if (prefix === undefined) trusted.addAddress(address, type)
    else trusted.addSubnet(address, Number(prefix), type)
  }
  const normalize = (address: string) => address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address
  const isTrusted = (address: string) => {
    const family = isIP(address)
    return family !== 0 && trusted.check(address, family === 6 ? "ipv6" : "ipv4")
  }
  return (request: HttpServerRequest.HttpServerRequest): string => {
    const peer = Option.match(request.remoteAddress, { onNone: () => "unknown", onSome: normalize })
    if (trustedProxies.length === 0 || !isTrusted(peer)) return peer
    const header = request.headers["x-forwarded-for"] ?? ""
    const hops = header.split(",").map((hop) => normalize(withoutPort(hop.trim()))).filter((hop) => hop.length > 0)
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!
      if (isIP(hop) === 0) return peer
      if (!isTrusted(hop)) return hop
    }
    return hops[0] ?? peer
  }
}

/** `makeClientIp` over TRUSTED_PROXIES, for handlers that key on the caller (login throttling). */
export class ClientIp extends Context.Service<ClientIp, (request: HttpServerRequest.HttpServerRequest) => string>()(
  "customify/http/ClientIp"
) {}

export const layer = Layer.effect(ClientIp, Effect.gen(function*() {
  const { trustedProxies } = yield* AppConfig
  return makeClientIp(trustedProxies)
}))
