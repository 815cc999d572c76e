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

/** A throwaway Redis on a free port, nothing persisted. */
export const startRedis = async (binary: string): Promise<RunningServer> => {
  const dir = mkdtempSync(join(tmpdir(), "customify-redis-"))
  const port = await freePort()
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
    stdio: "ignore"
  })
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const ready = await new Promise<boolean>((resolve) => {
      const socket = createConnection(port)
      socket.once("connect", () => {
        socket.destroy()
        resolve(true)
      })
      socket.once("error", () => resolve(false))
    })
    if (ready) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: () => {
      child.kill("SIGKILL")
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
