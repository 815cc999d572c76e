/**
 * `npm run bench:growth [-- options]`: how the cost of listing designs grows with the table.
 * Measures the p99 of `GET /api/v1/designs?limit=20` (the first page, and a page deep in the
 * keyset: the cursor of the design after ~90% of the owner's designs) with 10^3, 10^5 and 10^6
 * designs in the table, for (a) one owner who has them all and (b) many owners sharing them,
 * seeded with SQL (generate_series). Each step also records the list query's plan (EXPLAIN
 * ANALYZE) so that a curve that is not flat says why. Writes `bench/results/growth-<stamp>.json`,
 * `.svg` and `.md`, and `growth-latest.svg` / `growth-latest.md`.
 *
 * Low load on purpose (few connections): this measures what one request costs the database as
 * the table grows, not how much the loader can push.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import { findPostgresBin, findRedisServer, freePort, startPostgres, startRedis } from "../test/support/servers.ts"
import { makeKeysetCursor } from "../src/domain/Pagination.ts"
import { DesignId } from "../src/domain/Design.ts"
import { designDocument } from "./bench/fixtures.ts"
import { type GrowthPoint, type GrowthRun, growthCharts, growthTable, type Layout } from "./bench/growth-report.ts"
import { type RequestSpec, runLoad } from "./bench/load.ts"
import { Cleanup, cpuTicksOf, ForeignCpu, postmasterPid, runBenchScript, settle, startNodeServer } from "./bench/processes.ts"
import { call } from "./bench/seed.ts"
import { type Database, openDatabase } from "./bench/sql.ts"

const USAGE = `Usage: node scripts/bench-growth.ts [options]   (npm run bench:growth -- [options])

  --sizes <list>       designs in the table at each step (default 1000,100000,1000000)
  --owners <n>         owners sharing the designs in the many-owners layout (default 1000)
  --connections <n>    concurrent connections (default 4: the database is measured, not the loader)
  --duration <s>       measured seconds per point (default 10)
  --warmup <s>         warm-up seconds per point (default 3)
  --help

Environment: DATABASE_URL and REDIS_URL are NOT used: the run truncates the designs table, so it
always starts its own throwaway PostgreSQL and Redis.`

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const resultsDir = join(root, "bench", "results")
const HOST = "127.0.0.1"
const MEASURED_OWNERS = 4
const EXPLAIN_RUNS = 50
const PASSWORD = "growth-password-1234"
const Cursor = makeKeysetCursor(DesignId)

const log = (message: string) => console.error(`[growth ${new Date().toISOString().slice(11, 19)}] ${message}`)

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    sizes: { type: "string", default: "1000,100000,1000000" },
    owners: { type: "string", default: "1000" },
    connections: { type: "string", default: "4" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    help: { type: "boolean", default: false }
  },
  strict: true
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const positiveInt = (name: string, raw: string) => {
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`--${name}: expected a positive integer, got "${raw}"\n\n${USAGE}`)
    process.exit(64)
  }
  return value
}
const sizes = values.sizes.split(",").map((size) => positiveInt("sizes", size.trim())).sort((a, b) => a - b)
const owners = Math.max(MEASURED_OWNERS, positiveInt("owners", values.owners))
const connections = positiveInt("connections", values.connections)
const durationSeconds = positiveInt("duration", values.duration)
const warmupSeconds = Number(values.warmup)

interface Owner {
  readonly id: string
  readonly token: string
}

const cleanup = new Cleanup()
process.on("exit", () => cleanup.runSync())
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void cleanup.run().finally(() => process.exit(130)))
}

/** Small but valid: the table, not the response, is what grows (10^6 full documents would be 2 GB). */
const document = JSON.stringify({ ...designDocument(0), layers: designDocument(0).layers.slice(0, 2) })

/** Adds designs numbered `from..to` (1-based, newest first by number), each to owner `g % owners`. */
const insertDesigns = (db: Database, from: number, to: number) =>
  db.run(db.sql`
    INSERT INTO designs (id, owner_id, name, product_type, status, document, version, created_at, updated_at)
    SELECT gen_random_uuid(), o.id, 'Growth design ' || g, 't-shirt', 'draft', ${document}::jsonb, 1,
           date_trunc('second', now()) - g * interval '1 second', date_trunc('second', now()) - g * interval '1 second'
    FROM generate_series(${from}::int, ${to}::int) AS g
    JOIN growth_owners o ON o.n = g % (SELECT count(*) FROM growth_owners)`)

/** The cursor the API would hand out after the design at `position` (0-based, newest first) of the owner. */
const cursorAt = async (db: Database, ownerId: string, position: number) => {
  const [row] = await db.run(db.sql<{ id: string; createdAt: Date }>`
    SELECT id, created_at FROM designs WHERE owner_id = ${ownerId} AND deleted_at IS NULL
    ORDER BY created_at DESC, id DESC OFFSET ${position} LIMIT 1`)
  if (row === undefined) throw new Error(`no design at position ${position} of ${ownerId}`)
  return { cursor: Cursor.encode({ createdAt: row.createdAt, id: row.id as DesignId }), createdAt: row.createdAt, id: row.id }
}

type Deep = Awaited<ReturnType<typeof cursorAt>>

/** The plan of the API's list query (src/features/designs/DesignsRepository.ts), with the same shape. */
const explain = async (db: Database, ownerId: string, after: Deep | undefined) => {
  const query = () => db.run(db.sql<Record<string, string>>`
    EXPLAIN (ANALYZE, BUFFERS)
    SELECT id, owner_id, name, product_type, status, document, version, created_at, updated_at FROM designs
    WHERE ${db.sql.and([
      db.sql`owner_id = ${ownerId}`,
      db.sql`deleted_at IS NULL`,
      ...(after === undefined ? [] : [db.sql`(created_at, id) < (${after.createdAt.toISOString()}::timestamptz, ${after.id}::uuid)`])
    ])}
    ORDER BY created_at DESC, id DESC
    LIMIT 21`)
  // Many runs: one query is short enough for a neighbour's burst to double it. Inside the
  // database, so neither the HTTP stack nor the loader is counted: what the table size changes.
  const runs: Array<{ readonly plan: ReadonlyArray<string>; readonly executionMs: number }> = []
  for (let i = 0; i < EXPLAIN_RUNS; i++) {
    const plan = (await query()).map((row) => Object.values(row)[0] ?? "")
    runs.push({ plan, executionMs: Number(/Execution Time: ([\d.]+) ms/.exec(plan.join("\n"))?.[1] ?? "NaN") })
  }
  runs.sort((a, b) => a.executionMs - b.executionMs)
  const median = runs[Math.floor(EXPLAIN_RUNS / 2)]!
  return { plan: median.plan, executionMs: median.executionMs, executionP99Ms: runs[Math.ceil(EXPLAIN_RUNS * 0.99) - 1]!.executionMs }
}

const listRequests = (measured: ReadonlyArray<Owner>, cursors: ReadonlyMap<string, Deep> | undefined): Array<RequestSpec> => {
  let next = 0
  return [{
    method: "GET",
    setupRequest: (request) => {
      const owner = measured[next++ % measured.length]!
      const cursor = cursors?.get(owner.id)?.cursor
      return {
        ...request,
        path: `/api/v1/designs?limit=20${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
        headers: { ...request.headers, authorization: `Bearer ${owner.token}` }
      }
    }
  }]
}

const count = (value: number) => value.toLocaleString("en-US")

const main = async () => {
  const startedAt = new Date()
  const bin = findPostgresBin()
  const redisBinary = findRedisServer()
  if (bin === undefined || redisBinary === undefined) throw new Error("install postgresql and redis-server")
  const postgres = await startPostgres(bin)
  cleanup.add("PostgreSQL", () => postgres.stop(), () => postgres.stop())
  const redis = await startRedis(redisBinary)
  cleanup.add("Redis", () => redis.stop(), () => redis.stop())
  const port = await freePort()
  const api = await startNodeServer({
    name: "API",
    args: [join(root, "src", "main.ts")],
    env: {
      NODE_ENV: "production",
      HOST,
      PORT: String(port),
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      JWT_SECRET: randomBytes(48).toString("base64url"),
      SERVICE_API_KEYS: randomBytes(32).toString("base64url"),
      SMTP_URL: "smtp://bench:bench@127.0.0.1:1",
      PASSWORD_RESET_URL: "https://dashboard.customify.app/reset-password",
      BCRYPT_COST: "10",
      ACCESS_TOKEN_TTL: "1 hour",
      RATE_LIMIT_PER_MINUTE: "0",
      LOG_LEVEL: "Warn",
      MIGRATE_ON_START: "true"
    },
    host: HOST,
    port,
    readyPath: "/health",
    timeoutMs: 60_000,
    cleanup
  })
  const db = await openDatabase(postgres.url, 2)
  cleanup.add("database pool", () => db.close())
  const postgresPid = postmasterPid(Number(new URL(postgres.url).port))
  const ownRoots = postgresPid === undefined ? [process.pid] : [process.pid, postgresPid]
  const [version] = await db.run(db.sql<{ version: string }>`SELECT version()`)

  // The measured owners sign up through the API (their tokens are real); the rest are rows.
  const measured: Array<Owner> = []
  for (let i = 0; i < MEASURED_OWNERS; i++) {
    const signedIn = await call<{ user: { id: string }; tokens: { accessToken: string } }>(api.url, "POST", "/api/v1/auth/register", {
      body: { email: `growth-${i}@example.com`, password: PASSWORD, fullName: "Growth Owner" },
      expect: 201
    })
    measured.push({ id: signedIn.user.id, token: signedIn.tokens.accessToken })
  }
  await db.run(db.sql`
    INSERT INTO users (id, email, password_hash, full_name, created_at, updated_at)
    SELECT gen_random_uuid(), 'growth-extra-' || g || '@example.com', 'not a hash: never signs in', 'Growth Owner', now(), now()
    FROM generate_series(1, ${owners - MEASURED_OWNERS}::int) AS g`)
  await db.run(db.sql`CREATE TABLE growth_owners (n int PRIMARY KEY, id uuid NOT NULL)`)

  const points: Array<GrowthPoint> = []
  const layouts: ReadonlyArray<readonly [Layout, number]> = [["one owner", 1], ["many owners", owners]]
  for (const [layout, ownerCount] of layouts) {
    // Measured owners first: owner n gets every design g with g % ownerCount = n.
    await db.run(db.sql`TRUNCATE designs CASCADE`)
    await db.run(db.sql`DELETE FROM growth_owners`)
    await db.run(db.sql`
      INSERT INTO growth_owners (n, id)
      SELECT row_number() OVER (ORDER BY email) - 1, id FROM users
      WHERE email LIKE 'growth-%' ORDER BY email LIMIT ${ownerCount}`)
    const owning = measured.slice(0, ownerCount)
    let seeded = 0
    for (const size of sizes) {
      const started = performance.now()
      await insertDesigns(db, seeded + 1, size)
      seeded = size
      await db.run(db.sql`VACUUM ANALYZE designs`)
      const perOwner = Math.floor(size / ownerCount)
      log(`${layout}: ${count(size)} designs (${count(perOwner)} per owner) seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`)
      const skipped = Math.floor(perOwner * 0.9)
      const deep = perOwner >= 40
        ? new Map(await Promise.all(owning.map(async (owner) => [owner.id, await cursorAt(db, owner.id, skipped - 1)] as const)))
        : undefined
      for (const [page, cursors] of [["first page", undefined], ["deep page", deep]] as const) {
        if (page === "deep page" && cursors === undefined) continue
        const requests = () => listRequests(owning, cursors)
        await settle([api.pid], { maxWaitMs: 30_000 })
        if (warmupSeconds > 0) await runLoad({ url: api.url, connections, durationSeconds: warmupSeconds, requests: requests() })
        const foreign = new ForeignCpu(ownRoots)
        const ticksBefore = cpuTicksOf(api.pid) ?? 0
        const summary = await runLoad({ url: api.url, connections, durationSeconds, requests: requests(), title: `${layout} ${size} ${page}` })
        const otherCpuPercent = foreign.stop().otherPercent
        // Linux counts CPU time in ticks of 10 ms (USER_HZ 100).
        const apiCpuMicrosPerRequest = Math.round((((cpuTicksOf(api.pid) ?? 0) - ticksBefore) * 10_000) / Math.max(1, summary.responses))
        if (!api.alive()) throw new Error(`the API died:\n${api.output()}`)
        if (summary.non2xx + summary.errors > 0) throw new Error(`${layout} ${size} ${page}: ${summary.non2xx} non-2xx, ${summary.errors} errors`)
        const { plan, executionMs, executionP99Ms } = await explain(db, owning[0]!.id, cursors?.get(owning[0]!.id))
        points.push({ layout, designs: size, perOwner, page, skipped: page === "first page" ? 0 : skipped, summary, otherCpuPercent, apiCpuMicrosPerRequest, plan, planMs: executionMs, planP99Ms: executionP99Ms })
        log(`  ${page}: ${summary.requestsPerSecond} req/s, p50 ${summary.latencyMs.p50} ms, p99 ${summary.latencyMs.p99} ms; ` +
          `query ${executionMs} ms, p99 ${executionP99Ms} ms (${plan.find((line) => /Scan/.test(line))?.trim()}); API CPU ${apiCpuMicrosPerRequest} µs/req; other CPU ${otherCpuPercent}%`)
      }
    }
  }

  const command = process.env["npm_lifecycle_event"] === "bench:growth"
    ? `npm run bench:growth${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`
    : `node scripts/bench-growth.ts ${process.argv.slice(2).join(" ")}`.trim()
  const run: GrowthRun = {
    startedAt: startedAt.toISOString(),
    command,
    sizes,
    owners,
    connections,
    durationSeconds,
    warmupSeconds,
    ...(version === undefined ? {} : { postgres: version.version }),
    cores: cpus().length,
    loadAverageAtEnd: loadavg()[0] ?? 0,
    points
  }
  const table = growthTable(run)
  const charts = growthCharts(run)
  mkdirSync(resultsDir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z")
  const base = join(resultsDir, `growth-${stamp}`)
  writeFileSync(`${base}.json`, `${JSON.stringify(run, null, 2)}\n`)
  for (const [suffix, chart] of [["", charts.latency], ["-query", charts.query]] as const) {
    writeFileSync(`${base}${suffix}.svg`, chart)
    writeFileSync(join(resultsDir, `growth-latest${suffix}.svg`), chart)
  }
  writeFileSync(`${base}.md`, `${table}\n`)
  writeFileSync(join(resultsDir, "growth-latest.md"), `${table}\n`)
  console.log(table)
  log(`wrote ${relative(root, base)}.{json,svg,md}, ${relative(root, base)}-query.svg and bench/results/growth-latest{,-query}.svg, growth-latest.md`)
}

await runBenchScript(main, cleanup, log)
