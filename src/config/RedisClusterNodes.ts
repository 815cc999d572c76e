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
      return `"${isUrl ? "(a URL)" : entry}" is not host:port or a redis:// / rediss:// URL`
    }
    if (url.hostname === "" || !["", "/", "/0"].includes(url.pathname) || url.search !== "" || url.hash !== "") {
      return "every entry must be host:port or redis(s)://[user:password@]host:port (a cluster has only database 0)"
    }
    if (!isUrl && (url.username !== "" || url.password !== "")) {
      return "credentials need the URL form, redis(s)://user:password@host:port"
    }
    nodes.push({ host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port: url.port === "" ? 6379 : Number(url.port) })
    if (isUrl) {
      tls = url.protocol === "rediss:"
      username = url.username === "" ? undefined : decodeURIComponent(url.username)
      password = url.password === "" ? undefined : decodeURIComponent(url.password)
      shared.add(JSON.stringify([url.protocol, url.username, url.password]))
    }
  }
  if (shared.size > 1) return "URL entries must share one scheme and the same credentials (they apply to every node)"
  return { nodes, tls, username, password: password === undefined ? undefined : Redacted.make(password) }
}

/** `127.0.0.1:7000,127.0.0.1:7001 (tls)`: for logs, never with credentials. */
export const describe = (target: RedisClusterTarget): string =>
  `${target.nodes.map(({ host, port }) => `${host.includes(":") ? `[${host}]` : host}:${port}`).join(",")}${target.tls ? " (tls)" : ""}`
