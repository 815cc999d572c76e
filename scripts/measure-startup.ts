/**
 * `npm run measure:startup [-- RUNS]`: how long `node src/main.ts` takes from spawn to its
 * first successful GET /health, against real PostgreSQL and Redis (DATABASE_URL / REDIS_URL,
 * or throwaway servers started here), and on embedded defaults (warm data directory).
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { findPostgresBin, findRedisServer, freePort, type RunningServer, startPostgres, startRedis } from "../test/support/servers.ts"

const runs = Number(process.argv[2] ?? "5")

const timeToHealthy = async (env: Record<string, string>): Promise<number> => {
  const port = await freePort()
  const started = performance.now()
  const child = spawn(process.execPath, ["src/main.ts"], {
    env: { PATH: process.env["PATH"] ?? "", HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "Warn", ...env },
    stdio: "ignore"
  })
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`)
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false)
      if (ok) return performance.now() - started
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } finally {
    child.kill("SIGTERM")
    await new Promise((resolve) => child.once("exit", resolve))
  }
}

const summarize = (label: string, samples: Array<number>) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const median = sorted[Math.floor(sorted.length / 2)]!
  console.log(`${label.padEnd(34)} median ${median.toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${runs} runs)`)
}

const owned: Array<RunningServer> = []
try {
  let databaseUrl = process.env["DATABASE_URL"]
  let redisUrl = process.env["REDIS_URL"]
  if (databaseUrl === undefined) {
    const bin = findPostgresBin()
    if (bin === undefined) throw new Error("set DATABASE_URL or install PostgreSQL")
    const server = await startPostgres(bin)
    owned.push(server)
    databaseUrl = server.url
  }
  if (redisUrl === undefined) {
    const binary = findRedisServer()
    if (binary === undefined) throw new Error("set REDIS_URL or install redis-server")
    const server = await startRedis(binary)
    owned.push(server)
    redisUrl = server.url
  }
  console.log(`node ${process.version}, ${runs} runs each, spawn → first 200 from /health`)
  await timeToHealthy({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl }) // applies migrations once
  const real: Array<number> = []
  for (let i = 0; i < runs; i++) real.push(await timeToHealthy({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl }))
  summarize("real PostgreSQL + Redis", real)

  const dataDir = mkdtempSync(join(tmpdir(), "customify-startup-"))
  try {
    const first = await timeToHealthy({ DATA_DIR: dataDir })
    const embedded: Array<number> = []
    for (let i = 0; i < runs; i++) embedded.push(await timeToHealthy({ DATA_DIR: dataDir }))
    console.log(`${"embedded, first start (initdb)".padEnd(34)} ${first.toFixed(0)} ms`)
    summarize("embedded, warm data directory", embedded)
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
} finally {
  for (const server of owned.reverse()) server.stop()
}
