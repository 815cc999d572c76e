/**
 * `npm run bench [-- options]`: HTTP benchmarks of the API against real PostgreSQL and Redis,
 * with a minimal `node:http` baseline on the same drivers for comparison. See
 * `node scripts/bench.ts --help` and docs/PERFORMANCE.md.
 *
 * The API (`node src/main.ts`, NODE_ENV=production) and the baseline each run in their own
 * process; autocannon drives them from this one. Progress goes to stderr; the Markdown table to
 * stdout, `bench/results/latest.md` and, with every number, `bench/results/<timestamp>.json`;
 * a chart of the API beside its baseline to `bench/results/<timestamp>.svg` and `latest.svg`.
 * Goals are reported as PASS/MISS and never fail the run: the exit code is non-zero only when
 * the bench itself broke (a server did not start or died, seeding failed).
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg, release, totalmem } from "node:os"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import { findPostgresBin, findRedisServer, freePort, startPostgres, startRedis } from "../test/support/servers.ts"
import { parseOptions, USAGE } from "./bench/args.ts"
import { benchChart } from "./bench/chart.ts"
import { type LoadSummary, type RequestSpec, runLoad, startLoad } from "./bench/load.ts"
import { Cleanup, cpuTicksOf, ForeignCpu, memoryOf, postmasterPid, RssSampler, runBenchScript, type ServerProcess, settle, startNodeServer } from "./bench/processes.ts"
import { evaluateGoals, find, type Machine, markdown, type Run, type Soak, type SoakPart } from "./bench/report.ts"
import * as Scenarios from "./bench/scenarios.ts"
import { preflight, renewTokens, seed, type Seeded } from "./bench/seed.ts"
import { type Database, openDatabase } from "./bench/sql.ts"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")

/** The Node flags `npm start` gives the API (package.json), so the bench measures what production runs. */
const startFlags = (): ReadonlyArray<string> =>
  (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start
    .split(/\s+/).filter((arg) => arg.startsWith("--"))
const resultsDir = join(root, "bench", "results")
const HOST = "127.0.0.1"
/** A login waits behind every other one on the bcrypt pool: give it far longer than a read. */
const LOGIN_TIMEOUT_SECONDS = 120
const SETTLE_MAX_MS = 120_000
/** The login storm's shortest duration, whatever --duration says. */
const STORM_MIN_SECONDS = 10
/** Passed on to the API when set, to measure design writes with their index job. */
const INDEXING_ENV = ["OPENAI_API_KEY", "OPENAI_BASE_URL", "PINECONE_API_KEY", "PINECONE_INDEX_HOST"]
/** Linux's USER_HZ, the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS_PER_SECOND = 100

const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)

let options: ReturnType<typeof parseOptions>
try {
  options = parseOptions(process.argv.slice(2))
} catch (error) {
  console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
  process.exit(64)
}
if (options.help) {
  console.log(USAGE)
  process.exit(0)
}

// autocannon's timers warn when this process lags behind (a negative timeout, clamped to 1 ms): harmless.
process.removeAllListeners("warning")
process.on("warning", (warning) => {
  if (warning.name !== "TimeoutNegativeWarning") console.error(`${warning.name}: ${warning.message}`)
})

const cleanup = new Cleanup()
process.on("exit", () => cleanup.runSync())
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything the bench started`)
    void cleanup.run().finally(() => process.exit(130))
  })
}

const osName = () => {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux"
  } catch {
    return "Linux"
  }
}

const ensureAlive = (...servers: ReadonlyArray<ServerProcess>) => {
  for (const server of servers) {
    if (!server.alive()) throw new Error(`${server.name} died during the run:\n${server.output()}`)
  }
}

const commandLine = () => {
  const args = process.argv.slice(2).join(" ")
  return process.env["npm_lifecycle_event"] === "bench"
    ? `npm run bench${args.length > 0 ? ` -- ${args}` : ""}`
    : `node ${relative(root, process.argv[1] ?? "scripts/bench.ts")}${args.length > 0 ? ` ${args}` : ""}`
}

const main = async () => {
  const startedAt = new Date()
  const loadAverageAtStart = loadavg()[0] ?? 0
  if (loadAverageAtStart > cpus().length / 2) {
    log(`warning: load average ${loadAverageAtStart.toFixed(2)} on ${cpus().length} cores: other work will skew the numbers`)
  }
  const runId = startedAt.toISOString().replace(/[-:.TZ]/g, "").slice(0, 17)
  const poolMax = process.env["DATABASE_POOL_MAX"] ?? "10"
  const bcryptCost = process.env["BCRYPT_COST"] ?? "12"

  // 1. PostgreSQL and Redis: the given ones, or throwaway ones.
  let databaseUrl = process.env["DATABASE_URL"]
  let redisUrl = process.env["REDIS_URL"]
  if (databaseUrl === undefined) {
    const bin = findPostgresBin()
    if (bin === undefined) throw new Error("set DATABASE_URL or install PostgreSQL (apt-get install postgresql)")
    log("starting a throwaway PostgreSQL")
    const postgres = await startPostgres(bin)
    cleanup.add("PostgreSQL", () => postgres.stop(), () => postgres.stop())
    databaseUrl = postgres.url
    log(`PostgreSQL at ${postgres.url}`)
  }
  if (redisUrl === undefined) {
    const binary = findRedisServer()
    if (binary === undefined) throw new Error("set REDIS_URL or install redis-server")
    log("starting a throwaway Redis")
    const redis = await startRedis(binary)
    cleanup.add("Redis", () => redis.stop(), () => redis.stop())
    redisUrl = redis.url
    log(`Redis at ${redis.url}`)
  }

  // 2. The API, in production mode, then the baseline (after the API applied the migrations).
  const jwtSecret = randomBytes(48).toString("base64url")
  const serviceKey = randomBytes(32).toString("base64url")
  const profileDir = join(resultsDir, "profiles")
  if (options.cpuProf) mkdirSync(profileDir, { recursive: true })
  // Node's thread pool (bcrypt, and WebCrypto HMAC under jose) is sized by this variable.
  const passThrough: Record<string, string> = process.env["UV_THREADPOOL_SIZE"] === undefined
    ? {}
    : { UV_THREADPOOL_SIZE: process.env["UV_THREADPOOL_SIZE"] }
  const apiPort = await freePort()
  log(`starting the API on port ${apiPort}`)
  const api = await startNodeServer({
    name: "API",
    args: [...startFlags(), ...(options.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []), join(root, "src", "main.ts")],
    env: {
      NODE_ENV: "production",
      HOST,
      PORT: String(apiPort),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      DATABASE_POOL_MAX: poolMax,
      JWT_SECRET: jwtSecret,
      SERVICE_API_KEYS: serviceKey,
      // Required in production; the benchmark sends no mail (nothing listens there).
      SMTP_URL: "smtp://bench:bench@127.0.0.1:1",
      PASSWORD_RESET_URL: "https://dashboard.customify.app/reset-password",
      BCRYPT_COST: bcryptCost,
      ACCESS_TOKEN_TTL: "1 hour",
      RATE_LIMIT_PER_MINUTE: "0",
      LOG_LEVEL: "Warn",
      MIGRATE_ON_START: "true",
      ...(process.env["API_NODE_OPTIONS"] === undefined ? {} : { NODE_OPTIONS: process.env["API_NODE_OPTIONS"] }),
      // Similar-design search configured: every design write also queues its index job, in the
      // same transaction (ADR 0012). Creates never call the services, so fake keys measure it.
      ...Object.fromEntries(INDEXING_ENV.flatMap((name) => process.env[name] === undefined ? [] : [[name, process.env[name]!]])),
      ...passThrough
    },
    host: HOST,
    port: apiPort,
    readyPath: "/health",
    timeoutMs: 60_000,
    cleanup
  })
  const baselinePort = await freePort()
  log(`starting the baseline on port ${baselinePort}`)
  const baseline = await startNodeServer({
    name: "baseline",
    args: [join(root, "scripts", "bench", "baseline-server.ts")],
    env: {
      HOST,
      PORT: String(baselinePort),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      DATABASE_POOL_MAX: poolMax,
      JWT_SECRET: jwtSecret,
      ...passThrough
    },
    host: HOST,
    port: baselinePort,
    readyPath: "/health",
    timeoutMs: 30_000,
    cleanup
  })

  // Whose CPU is the bench's own: this process and its children (servers, Redis) and PostgreSQL.
  const postgresPid = postmasterPid(Number(new URL(databaseUrl).port || "5432"))
  const ownRoots = postgresPid === undefined ? [process.pid] : [process.pid, postgresPid]

  const db: Database = await openDatabase(databaseUrl, 2)
  cleanup.add("bench database pool", () => db.close())
  const [versionRow] = await db.run(db.sql<{ version: string }>`SELECT version()`)
  const redisInfo = new Redis(redisUrl, { lazyConnect: true })
  await redisInfo.connect()
  const redisVersion = /redis_version:(\S+)/.exec(await redisInfo.info("server"))?.[1] ?? "unknown"
  redisInfo.disconnect()
  const machine: Machine = {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: totalmem() / 1024 ** 3,
    os: osName(),
    kernel: release(),
    node: process.version,
    postgres: /^PostgreSQL \S+/.exec(versionRow?.version ?? "")?.[0] ?? versionRow?.version ?? "unknown",
    postgresVersion: versionRow?.version ?? "unknown",
    redis: redisVersion,
    uvThreadpoolSize: process.env["UV_THREADPOOL_SIZE"] ?? "4 (default)",
    loadAverageAtStart
  }

  // 3. Seed: users through the API, designs through SQL; then one request of each kind.
  const hotPerUser = 2
  const patchable = Math.max(4 * options.connections, 32)
  const designs = Math.max(options.designs, options.users * hotPerUser + patchable)
  log(`seeding ${options.users} enterprise users and ${designs} designs`)
  const seeded: Seeded = await seed({
    api: api.url,
    db,
    serviceKey,
    runId,
    users: options.users,
    loginUsers: Math.ceil(options.connections / Scenarios.LOGIN_CONNECTIONS_PER_USER),
    designs,
    hotPerUser,
    patchable
  })
  await preflight({ api: api.url, baseline: baseline.url, seeded })
  const rssBeforeLoad = { api: memoryOf(api.pid)?.rssKiB ?? 0, baseline: memoryOf(baseline.pid)?.rssKiB ?? 0 }
  const pool = new Scenarios.PatchPool(seeded.patchable)
  const userIds = seeded.users.map((user) => user.id)

  // 4. The scenarios, after both servers' code paths are warm.
  const runs: Array<Run> = []
  const { connections, durationSeconds, warmupSeconds } = options
  const idle = (server: ServerProcess) => settle([server.pid], { maxWaitMs: SETTLE_MAX_MS })
  if (options.jitWarmupSeconds > 0) {
    // V8 keeps optimising the API's much larger code for tens of seconds of load (measured: a
    // cached read's CPU fell by a third between 15 and 45 s of load); the baseline's few
    // functions are hot within a second. Steady state is what a long-running server serves at.
    const perPart = Math.max(1, Math.round(connections / 4))
    log(`warming up: ${options.jitWarmupSeconds} s of mixed load on the API, ${Math.ceil(options.jitWarmupSeconds / 3)} s on the baseline`)
    await Promise.all([
      Scenarios.getDesign(seeded.hot, seeded.tokens),
      Scenarios.listDesigns(userIds, seeded.tokens),
      Scenarios.createDesign(userIds, seeded.tokens),
      Scenarios.patchDesign(pool, seeded.tokens)
    ].map((requests) => runLoad({ url: api.url, connections: perPart, durationSeconds: options.jitWarmupSeconds, requests })))
    await Promise.all([
      Scenarios.getDesign(seeded.hot, seeded.tokens),
      Scenarios.createDesign(userIds, seeded.tokens)
    ].map((requests) => runLoad({ url: baseline.url, connections: perPart, durationSeconds: Math.ceil(options.jitWarmupSeconds / 3), requests })))
    await pool.resync(db)
  }

  const measure = async (spec: {
    readonly scenario: number
    readonly label: string
    readonly server: ServerProcess
    readonly kind: Run["server"]
    readonly requests: () => Array<RequestSpec>
    readonly beforeMeasure?: () => Promise<void>
    /** Of the alternating rounds of scenarios 2 and 4; only the first warms up. */
    readonly round?: number
  }): Promise<Run> => {
    const warmup = (spec.round ?? 1) === 1 ? warmupSeconds : 0
    log(`scenario ${spec.scenario} ${spec.label} on the ${spec.kind}${spec.round === undefined ? "" : `, round ${spec.round}`}: ${warmup} s warm-up, ${durationSeconds} s measured`)
    await idle(spec.server)
    if (warmup > 0) {
      await runLoad({ url: spec.server.url, connections, durationSeconds: warmup, requests: spec.requests() })
      await idle(spec.server)
    }
    await spec.beforeMeasure?.()
    const sampler = new RssSampler(spec.server.pid)
    const foreign = new ForeignCpu(ownRoots)
    const ticksBefore = cpuTicksOf(spec.server.pid) ?? 0
    const summary = await runLoad({ url: spec.server.url, connections, durationSeconds, requests: spec.requests(), title: spec.label })
    const ticks = (cpuTicksOf(spec.server.pid) ?? 0) - ticksBefore
    const rss = sampler.stop()
    const cpu = foreign.stop()
    ensureAlive(api, baseline)
    const run: Run = {
      scenario: spec.scenario,
      label: spec.label,
      server: spec.kind,
      ...(spec.round === undefined ? {} : { round: spec.round }),
      summary,
      peakRssKiB: rss.peakKiB,
      ...(summary.responses > 0 ? { cpuMicrosPerRequest: Math.round((ticks * (1e6 / CLOCK_TICKS_PER_SECOND)) / summary.responses) } : {}),
      otherCpuPercent: cpu.otherPercent,
      stealPercent: cpu.stealPercent
    }
    log(describe(run))
    runs.push(run)
    return run
  }

  const wants = (scenario: number) => options.scenarios.has(scenario)
  /** Who goes first alternates, so a steady drift of the machine's speed favours neither. */
  const inTurn = (round: number) =>
    round % 2 === 1 ? [[api, "api"], [baseline, "baseline"]] as const : [[baseline, "baseline"], [api, "api"]] as const
  const getLabel = "GET /api/v1/designs/{id} (cache hit)"
  const createLabel = "POST /api/v1/designs"
  const stormReadLabel = "GET /api/v1/designs/{id} during the storm"
  // A sign-in takes about half a second of CPU at cost 12: the storm lasts long enough to see some.
  const stormSeconds = Math.max(durationSeconds, STORM_MIN_SECONDS)

  if (wants(1)) await measure({ scenario: 1, label: "GET /health", server: api, kind: "api", requests: Scenarios.health })

  if (wants(2)) {
    for (let round = 1; round <= options.rounds; round++) {
      for (const [server, kind] of inTurn(round)) {
        await measure({ scenario: 2, label: getLabel, server, kind, round, requests: () => Scenarios.getDesign(seeded.hot, seeded.tokens) })
      }
    }
  }

  if (wants(3)) {
    await measure({
      scenario: 3,
      label: "GET /api/v1/designs?limit=20",
      server: api,
      kind: "api",
      requests: () => Scenarios.listDesigns(userIds, seeded.tokens)
    })
  }

  if (wants(4)) {
    for (let round = 1; round <= options.rounds; round++) {
      for (const [server, kind] of inTurn(round)) {
        await measure({ scenario: 4, label: createLabel, server, kind, round, requests: () => Scenarios.createDesign(userIds, seeded.tokens) })
      }
    }
  }

  if (wants(5)) {
    await pool.resync(db)
    await measure({
      scenario: 5,
      label: "PATCH /api/v1/designs/{id} (If-Match)",
      server: api,
      kind: "api",
      requests: () => Scenarios.patchDesign(pool, seeded.tokens),
      // Requests cut off by the end of the warm-up may or may not have been applied.
      beforeMeasure: () => pool.resync(db)
    })
  }

  // 6. The login storm, with scenario 2's reads running at the same time.
  if (wants(6)) {
    log(`scenario 6 login storm + GET design on the API: ${stormSeconds} s (reads warmed up ${warmupSeconds} s)`)
    await idle(api)
    if (warmupSeconds > 0) {
      await runLoad({ url: api.url, connections, durationSeconds: warmupSeconds, requests: Scenarios.getDesign(seeded.hot, seeded.tokens) })
      await idle(api)
    }
    const stormSampler = new RssSampler(api.pid)
    const stormForeign = new ForeignCpu(ownRoots)
    const [loginSummary, readSummary, probeSummary] = await Promise.all([
      runLoad({
        url: api.url,
        connections,
        durationSeconds: stormSeconds,
        timeoutSeconds: LOGIN_TIMEOUT_SECONDS,
        ...Scenarios.login(seeded.loginEmails),
        title: "login storm"
      }),
      runLoad({
        url: api.url,
        connections,
        durationSeconds: stormSeconds,
        requests: Scenarios.getDesign(seeded.hot, seeded.tokens),
        title: "reads during storm"
      }),
      // Needs no JWT (so no thread pool): shows whether the event loop itself stays responsive.
      runLoad({ url: api.url, connections: 1, durationSeconds: stormSeconds, requests: Scenarios.health(), title: "event-loop probe" })
    ])
    const stormRss = stormSampler.stop()
    const stormCpu = stormForeign.stop()
    ensureAlive(api, baseline)
    const shared = { scenario: 6, server: "api", peakRssKiB: stormRss.peakKiB, otherCpuPercent: stormCpu.otherPercent, stealPercent: stormCpu.stealPercent } as const
    const stormRuns: Array<Run> = [
      { ...shared, label: "POST /api/v1/auth/login (storm)", summary: loginSummary, expectedStatuses: [503] },
      { ...shared, label: stormReadLabel, summary: readSummary },
      { ...shared, label: "GET /health during the storm (1 connection)", summary: probeSummary }
    ]
    for (const run of stormRuns) {
      runs.push(run)
      log(describe(run))
    }
    const drained = await idle(api)
    log(`logins left in flight drained in ${(drained / 1000).toFixed(1)} s`)
    ensureAlive(api, baseline)
  }

  for (const scenario of [2, 4]) {
    for (const mine of runs.filter((run) => run.scenario === scenario && run.server === "api")) {
      const theirs = runs.find((run) => run.scenario === scenario && run.server === "baseline" && run.round === mine.round)
      if (theirs !== undefined) {
        runs[runs.indexOf(mine)] = { ...mine, vsBaseline: mine.summary.requestsPerSecond / Math.max(theirs.summary.requestsPerSecond, 0.001) }
      }
    }
  }

  // 7. The soak.
  let soak: Soak | undefined
  if (options.soakSeconds !== undefined) soak = await runSoak(api, seeded, pool, db, options.soakSeconds, ownRoots)

  // 8. The report.
  const goals = evaluateGoals(runs, { read: find(runs, 6, "api", stormReadLabel) }, soak)
  const notes = [
    `req/s counts 2xx responses; p50/p99 are of 2xx responses. Every request is expected to succeed, so any non-2xx (a 409 included) is unexpected, ` +
      `except the login storm's 503 \`busy\`: the admission control in front of bcrypt refusing logins that would wait too long.`,
    ...(options.rounds > 1
      ? [`Scenarios 2 and 4 alternate the API and the baseline in ${options.rounds} rounds (#1, #2, ...; only the first warms up; who goes first alternates): the machine's speed drifts between runs, so their goals use the round with the median API/baseline ratio, and the median p99.`]
      : []),
    ...(wants(6)
      ? [
        `Scenario 6 runs two autocannon instances at once for ${stormSeconds} s (${connections} connections each): logins of ` +
        `${seeded.loginEmails.length} users, ${Scenarios.LOGIN_CONNECTIONS_PER_USER} connections each, under the login throttle's 10 attempts ` +
        `(timeout ${LOGIN_TIMEOUT_SECONDS} s; the logins still in flight when it ends are not counted) and scenario 2's reads (timeout 10 s), ` +
        `plus one connection polling GET /health: it verifies no JWT, so it shows whether the event loop itself stays responsive.`
      ]
      : []),
    ...(wants(2) || wants(4)
      ? [
        `The baseline (scripts/bench/baseline-server.ts) does only: jose JWT verify + ioredis GET (2); JWT verify + quota upsert and INSERT as one ` +
        `@effect/sql-pg statement (4).`
      ]
      : []),
    `Peak RSS: VmRSS of the server process, polled every 100 ms during each measured run (before any load, after seeding: API ` +
    `${(rssBeforeLoad.api / 1024).toFixed(0)} MiB, baseline ${(rssBeforeLoad.baseline / 1024).toFixed(0)} MiB). Other CPU: the share of the machine's ` +
    `CPU that processes outside the bench used during the run (hypervisor steal included); above a few percent, the run was disturbed.`,
    `Everything (load generator, API, baseline, PostgreSQL, Redis) shares the same ${machine.cores} cores.`
  ]
  const settings = `${options.jitWarmupSeconds} s of mixed load to warm both servers up first; ` +
    `${connections} connections, ${durationSeconds} s per scenario after a ${warmupSeconds} s warm-up; ` +
    `${seeded.users.length} enterprise users, ${seeded.designs} seeded designs; DATABASE_POOL_MAX ${poolMax}, BCRYPT_COST ${bcryptCost}, ` +
    `UV_THREADPOOL_SIZE ${machine.uvThreadpoolSize}; API Node flags ${[...startFlags(), process.env["API_NODE_OPTIONS"] ?? ""].join(" ").trim() || "none (V8 defaults)"} (npm start's, then API_NODE_OPTIONS); PostgreSQL and Redis ${process.env["DATABASE_URL"] === undefined ? "throwaway (fsync off)" : "from DATABASE_URL / REDIS_URL"}.`
  const command = commandLine()
  const table = markdown({
    title: `Benchmark ${startedAt.toISOString().slice(0, 10)}${options.quick ? " (quick)" : ""}`,
    command,
    machine,
    settings,
    runs,
    goals,
    soak,
    notes
  })
  mkdirSync(resultsDir, { recursive: true })
  const stamp = startedAt.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z")
  const jsonPath = join(resultsDir, `${stamp}.json`)
  writeFileSync(jsonPath, `${JSON.stringify({
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    argv: process.argv.slice(2),
    options: { ...options, scenarios: [...options.scenarios] },
    machine,
    settings: { connections, durationSeconds, warmupSeconds, poolMax: Number(poolMax), bcryptCost: Number(bcryptCost), users: seeded.users.length, designs: seeded.designs, patchPool: pool.size, patchPoolShared: pool.shared },
    rssBeforeLoadKiB: rssBeforeLoad,
    runs,
    soak,
    goals,
    markdown: table
  }, null, 2)}\n`)
  writeFileSync(join(resultsDir, "latest.md"), table)
  const chart = benchChart(runs, {
    title: `Benchmark ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC${options.quick ? " (quick)" : ""}: the API beside its baseline`,
    subtitle: `${command} · ${connections} connections, ${durationSeconds} s per scenario · ${machine.cores} cores shared by load generator, servers, PostgreSQL and Redis`
  })
  const svgPath = join(resultsDir, `${stamp}.svg`)
  writeFileSync(svgPath, chart)
  writeFileSync(join(resultsDir, "latest.svg"), chart)
  console.log(table)
  for (const goal of goals) log(`${goal.pass ? "PASS" : "MISS"} ${goal.goal}: ${goal.measured} (target ${goal.target})`)
  log(`wrote ${relative(root, jsonPath)}, ${relative(root, svgPath)}, bench/results/latest.md and latest.svg`)
  if (pool.shared > 0) log(`warning: the PATCH pool ran dry ${pool.shared} times; versions may have conflicted`)
}

const describe = (run: Run) => {
  const s = run.summary
  return `  ${run.server} ${run.label}: ${s.requestsPerSecond} req/s, p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms, ` +
    `non-2xx ${s.non2xx}, errors ${s.errors}${s.errorSamples.length > 0 ? ` (${s.errorSamples.join("; ")})` : ""}, ` +
    `peak RSS ${(run.peakRssKiB / 1024).toFixed(0)} MiB, ` +
    `${run.cpuMicrosPerRequest === undefined ? "" : `CPU ${run.cpuMicrosPerRequest} µs/req, `}other CPU ${run.otherCpuPercent}%`
}

/** Mixed load: reads, lists, creates and patches at once, in a 4:2:2:2 split of the connections. */
const runSoak = async (
  api: ServerProcess,
  seeded: Seeded,
  pool: Scenarios.PatchPool,
  db: Database,
  seconds: number,
  ownRoots: ReadonlyArray<number>
): Promise<Soak> => {
  const userIds = seeded.users.map((user) => user.id)
  const share = (weight: number) => Math.max(1, Math.round((options.connections * weight) / 10))
  const mix: ReadonlyArray<{ readonly kind: string; readonly connections: number; readonly requests: () => Array<RequestSpec> }> = [
    { kind: "GET design", connections: share(4), requests: () => Scenarios.getDesign(seeded.hot, seeded.tokens) },
    { kind: "GET list", connections: share(2), requests: () => Scenarios.listDesigns(userIds, seeded.tokens) },
    { kind: "POST design", connections: share(2), requests: () => Scenarios.createDesign(userIds, seeded.tokens) },
    { kind: "PATCH design", connections: share(2), requests: () => Scenarios.patchDesign(pool, seeded.tokens) }
  ]
  const runMix = (durationSeconds: number) =>
    Promise.all(mix.map((part) => startLoad({ url: api.url, connections: part.connections, durationSeconds, requests: part.requests(), title: part.kind }).done))
  const warmupSeconds = Math.min(30, Math.max(5, Math.round(seconds / 10)))
  log(`soak: ${warmupSeconds} s warm-up, then ${seconds} s of mixed load`)
  await renewTokens(api.url, seeded.users, seeded.tokens)
  await settle([api.pid], { maxWaitMs: SETTLE_MAX_MS })
  await pool.resync(db)
  await runMix(warmupSeconds)
  await settle([api.pid], { maxWaitMs: SETTLE_MAX_MS })
  await pool.resync(db)
  const rssAfterWarmupKiB = memoryOf(api.pid)?.rssKiB ?? 0
  // Access tokens live 1 hour: sign in again every 30 minutes.
  const renew = setInterval(() => {
    renewTokens(api.url, seeded.users, seeded.tokens).catch((error: unknown) => log(`soak: renewing tokens failed: ${String(error)}`))
  }, 30 * 60_000)
  const sampler = new RssSampler(api.pid, 250, Math.max(1_000, Math.round((seconds * 1000) / 120)))
  const foreign = new ForeignCpu(ownRoots)
  let summaries: Array<LoadSummary>
  try {
    summaries = await runMix(seconds)
  } finally {
    clearInterval(renew)
  }
  const rss = sampler.stop()
  const cpu = foreign.stop()
  ensureAlive(api)
  // Compared like with like: idle after the warm-up, idle after the soak.
  await settle([api.pid], { maxWaitMs: SETTLE_MAX_MS })
  const rssAtEndKiB = memoryOf(api.pid)?.rssKiB ?? 0
  const parts: Array<SoakPart> = summaries.map((summary, i) => ({ kind: mix[i]!.kind, summary }))
  const total = (pick: (s: LoadSummary) => number) => summaries.reduce((sum, s) => sum + pick(s), 0)
  const soak: Soak = {
    seconds,
    warmupSeconds,
    connections: total((s) => s.connections),
    parts,
    requestsPerSecond: Math.round(total((s) => s.requestsPerSecond) * 10) / 10,
    responses: total((s) => s.responses),
    errors: total((s) => s.errors),
    non2xx: total((s) => s.non2xx),
    rssAfterWarmupKiB,
    rssAtEndKiB,
    rssUnderLoadAtEndKiB: rss.lastKiB,
    peakRssKiB: rss.peakKiB,
    rssSeries: sampler.series,
    otherCpuPercent: cpu.otherPercent
  }
  log(`soak: ${soak.requestsPerSecond} req/s, ${soak.errors} errors, ${soak.non2xx} non-2xx, idle RSS ${(rssAfterWarmupKiB / 1024).toFixed(0)} → ` +
    `${(soak.rssAtEndKiB / 1024).toFixed(0)} MiB (under load at the end ${(soak.rssUnderLoadAtEndKiB / 1024).toFixed(0)}, peak ${(soak.peakRssKiB / 1024).toFixed(0)} MiB)`)
  return soak
}

await runBenchScript(main, cleanup, log)
