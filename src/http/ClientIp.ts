import { BlockList, isIP } from "node:net"
import { Context, Effect, Layer, Option } from "effect"
import { AppConfig } from "../config/AppConfig.ts"
import type { HttpServerRequest } from "effect/http"

/** The eight 16-bit groups of a valid IPv6 address. */
const ipv6Groups = (address: string): ReadonlyArray<number> => {
  let text = address.split("%")[0]!.toLowerCase()
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = "", tail] = text.split("::")
  const parse = (part: string) => part === "" ? [] : part.split(":").map((group) => parseInt(group, 16))
  const left = parse(head)
  const right = tail === undefined ? [] : parse(tail)
  return [...left, ...Array(8 - left.length - right.length).fill(0), ...right]
}

const ipv6Prefix64 = (address: string) =>
  `${ipv6Groups(address).slice(0, 4).map((group) => group.toString(16)).join(":")}::/64`

/**
 * The bucket an address is counted in (rate limit, login throttle): an IPv6 address as its /64,
 * in one canonical spelling, since one subscriber holds a whole /64 and may rotate through it
 * (or spell an address several ways) at will; an IPv4 address, or anything else, as it is.
 */
export const addressBucket = (ip: string): string => isIP(ip) === 6 ? ipv6Prefix64(ip) : ip

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
