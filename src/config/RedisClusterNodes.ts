import { Redacted } from "effect"

/** Where a Redis Cluster is reached (REDIS_CLUSTER_NODES), with what every node shares. */
export interface RedisClusterTarget {
  /** The seed nodes; the client learns the others (and the slot map) from them. */
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  /** `rediss://` entries: TLS to every node (ElastiCache in-transit encryption). */
  readonly tls: boolean
  readonly username: string | undefined
  readonly password: Redacted.Redacted | undefined
}

const SCHEME = /^rediss?:\/\//

/** The URL's user and password, percent-decoded; undefined when one is not valid percent-encoding. */
const decodeCredentials = (url: URL): [string | undefined, string | undefined] | undefined => {
  try {
    return [
      url.username === "" ? undefined : decodeURIComponent(url.username),
      url.password === "" ? undefined : decodeURIComponent(url.password)
    ]
  } catch {
    return undefined
  }
}

/**
 * `host:port,host:port` or the same as `redis://` / `rediss://` URLs with credentials, e.g.
 * `rediss://default:token@clustercfg.shop.abc123.use1.cache.amazonaws.com:6379` (one
 * configuration endpoint is enough). The URLs' scheme and credentials apply to every node,
 * found ones included, so URL entries must agree on them. Answers a problem as text.
 */
export const parse = (text: string): RedisClusterTarget | string => {
  const entries = text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "")
  if (entries.length === 0) return "must list at least one node as host:port"
  const nodes: Array<{ host: string; port: number }> = []
  const shared = new Set<string>()
  let tls = false
  let username: string | undefined
  let password: string | undefined
  for (const entry of entries) {
    const isUrl = SCHEME.test(entry)
    let url: URL
    try {
      url = new URL(isUrl ? entry : `redis://${entry}`)
    } catch {
      // An entry with an `@` may hold a password: never echoed (the problem is logged).
      return `"${isUrl || entry.includes("@") ? "(an entry with credentials)" : entry}" is not host:port or a redis:// / rediss:// URL`
    }
    if (url.hostname === "" || !["", "/", "/0"].includes(url.pathname) || url.search !== "" || url.hash !== "") {
      return "every entry must be host:port or redis(s)://[user:password@]host:port (a cluster has only database 0)"
    }
    if (!isUrl && (url.username !== "" || url.password !== "")) {
      return "credentials need the URL form, redis(s)://user:password@host:port"
    }
    if (url.port === "0") return "a node's port must be 1 to 65535"
    const node = { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port === "" ? 6379 : Number(url.port) }
    // The URL parser spells a host one way (IPv6 compressed, names lower-cased): a node listed twice is one seed.
    if (!nodes.some(({ host, port }) => host === node.host && port === node.port)) nodes.push(node)
    if (isUrl) {
      tls = url.protocol === "rediss:"
      const decoded = decodeCredentials(url)
      if (decoded === undefined) return "a URL entry's user and password must be percent-encoded (% followed by two hex digits)"
      ;[username, password] = decoded
      shared.add(JSON.stringify([url.protocol, url.username, url.password]))
    }
  }
  if (shared.size > 1) return "URL entries must share one scheme and the same credentials (they apply to every node)"
  return { nodes, tls, username, password: password === undefined ? undefined : Redacted.make(password) }
}

/** `127.0.0.1:7000,127.0.0.1:7001 (tls)`: for logs, never with credentials. */
export const describe = (target: RedisClusterTarget): string =>
  `${target.nodes.map(({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`).join(",")}${target.tls ? " (tls)" : ""}`
