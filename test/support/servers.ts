import { execFileSync, spawn } from "node:child_process"
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { createConnection, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A free TCP port on loopback, from the kernel. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")))
    })
  })

const isRoot = process.getuid?.() === 0

/** initdb and postgres refuse to run as root: run them as the `postgres` user then. */
const asPostgres = (command: string, args: ReadonlyArray<string>) =>
  isRoot ? ["runuser", ["-u", "postgres", "--", command, ...args]] as const : [command, args] as const

export const findPostgresBin = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))).sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin")
}

export const findRedisServer = (): string | undefined =>
  ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((path) => existsSync(path))

export interface RunningServer {
  readonly url: string
  readonly stop: () => void
  /** Stops the server without forgetting it; `resume` starts it again on the same port. */
  readonly pause?: () => void
  readonly resume?: () => void
}

/** A throwaway PostgreSQL cluster in a temporary directory on a free port. */
export const startPostgres = async (bin: string): Promise<RunningServer> => {
  const dir = mkdtempSync(join(tmpdir(), "customify-pg-"))
  if (isRoot) {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"]).toString().trim())
    chownSync(dir, id("-u"), id("-g"))
  }
  const port = await freePort()
  const run = (command: string, args: ReadonlyArray<string>) => {
    const [cmd, argv] = asPostgres(join(bin, command), args)
    execFileSync(cmd, [...argv], { stdio: "pipe" })
  }
  run("initdb", ["-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
  const start = () =>
    run("pg_ctl", ["-D", join(dir, "data"), "-l", join(dir, "pg.log"), "-w", "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, "start"])
  const stopServer = () => run("pg_ctl", ["-D", join(dir, "data"), "-m", "fast", "-w", "stop"])
  start()
  run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "customify_test"])
  return {
    url: `postgres://postgres@127.0.0.1:${port}/customify_test`,
    pause: stopServer,
    resume: start,
    stop: () => {
      try {
        stopServer()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}

const waitForPort = async (port: number, deadline: number) => {
  while (Date.now() < deadline) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port, "127.0.0.1")
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (ready) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`)
}

/** A throwaway Redis on a free port, nothing persisted. */
export const startRedis = async (binary: string): Promise<RunningServer> => {
  const dir = mkdtempSync(join(tmpdir(), "customify-redis-"))
  const port = await freePort()
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: "ignore"
  })
  await waitForPort(port, Date.now() + 10_000)
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: () => {
      child.kill("SIGKILL")
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface RunningCluster {
  /** `host:port,host:port,host:port`, as REDIS_CLUSTER_NODES takes them. */
  readonly nodes: string
  readonly stop: () => void
  /** Kills the i-th master (an outage of its share of the slots). */
  readonly killNode: (index: number) => void
}

/**
 * A throwaway Redis Cluster of three masters (no replicas) on free ports, nothing persisted:
 * the topology of ElastiCache's cluster mode, so hash slots and CROSSSLOT errors are real.
 */
export const startRedisCluster = async (
  binary: string,
  options: {
    readonly masters?: number
    readonly password?: string
    /**
     * TLS only, as ElastiCache's in-transit encryption: PEM files of a certificate for
     * `localhost` (also the CA), and nodes announced by that hostname, as ElastiCache announces
     * its nodes' hostnames.
     */
    readonly tls?: { readonly cert: string; readonly key: string }
  } = {}
): Promise<RunningCluster> => {
  const masters = options.masters ?? 3
  const auth = options.password === undefined ? [] : ["--requirepass", options.password, "--masterauth", options.password]
  const tls = options.tls
  const cliAuth = [
    ...(options.password === undefined ? [] : ["--no-auth-warning", "-a", options.password]),
    ...(tls === undefined ? [] : ["--tls", "--cacert", tls.cert])
  ]
  const dir = mkdtempSync(join(tmpdir(), "customify-redis-cluster-"))
  const children: Array<ReturnType<typeof spawn>> = []
  const stop = () => {
    for (const child of children) child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const ports: Array<number> = []
    for (let i = 0; i < masters; i++) {
      // The bus port is given explicitly: the default (port + 10000) may be out of range or taken.
      const [port, busPort] = [await freePort(), await freePort()]
      ports.push(port)
      const listen = tls === undefined ? ["--port", String(port)] : [
        "--port", "0", "--tls-port", String(port), "--tls-cluster", "yes", "--tls-auth-clients", "no",
        "--tls-cert-file", tls.cert, "--tls-key-file", tls.key, "--tls-ca-cert-file", tls.cert,
        "--cluster-announce-hostname", "localhost", "--cluster-preferred-endpoint-type", "hostname"
      ]
      children.push(spawn(binary, [
        ...listen, "--cluster-port", String(busPort), "--bind", "127.0.0.1",
        "--cluster-enabled", "yes", "--cluster-config-file", join(dir, `nodes-${port}.conf`),
        "--save", "", "--appendonly", "no", "--dir", dir, ...auth
      ], { stdio: "ignore" }))
    }
    const deadline = Date.now() + 20_000
    for (const port of ports) await waitForPort(port, deadline)
    const cli = join(binary, "..", "redis-cli")
    execFileSync(cli, [...cliAuth, "--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"], { stdio: "pipe" })
    // Every node must agree that all slots are served before a test may use it.
    for (const port of ports) {
      while (!execFileSync(cli, [...cliAuth, "-p", String(port), "cluster", "info"]).toString().includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`redis cluster: node ${port} never reached cluster_state:ok`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
    return {
      nodes: ports.map((port) => `${tls === undefined ? "127.0.0.1" : "localhost"}:${port}`).join(","),
      stop,
      killNode: (index) => void children[index]?.kill("SIGKILL")
    }
  } catch (error) {
    stop()
    throw error
  }
}
