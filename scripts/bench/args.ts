import { parseArgs } from "node:util"

export const USAGE = `Usage: node scripts/bench.ts [options]   (npm run bench -- [options])

Starts throwaway PostgreSQL and Redis (or uses DATABASE_URL / REDIS_URL), the API
(node src/main.ts, NODE_ENV=production) and a minimal node:http baseline, each in its own
process, seeds them, and drives them with autocannon from this process.

  --quick              CI smoke run: 2 s per scenario (the login storm 10 s), 16 connections, 1 s warm-up, tiny seed
  --duration <s>       seconds per scenario (default 15; the login storm at least 10)
  --connections <n>    concurrent connections per scenario (default 64)
  --warmup <s>         warm-up seconds before each scenario (default 5)
  --jit-warmup <s>     mixed load before the first scenario, until V8 has optimised the servers'
                       code (default 40; quick 0)
  --users <n>          enterprise users to seed (default 8; quick 4)
  --designs <n>        designs to seed in all (default 4000; quick 200)
  --rounds <n>         scenarios 2 and 4 alternate the API and the baseline n times; their goals
                       use the median round (default 3; quick 1)
  --scenarios <list>   only these scenarios, e.g. 2,4 (default 1,2,3,4,5,6; none with --soak only: "none")
  --soak <s>           after the scenarios, a mixed workload for <s> seconds
  --cpu-prof           run the API with --cpu-prof (profile under bench/results/profiles/)
  --help

Environment: DATABASE_URL, REDIS_URL (use these servers instead of throwaway ones; the bench
only adds rows), DATABASE_POOL_MAX (default 10, API and baseline), BCRYPT_COST (default 12),
API_NODE_OPTIONS (Node flags for the API only, e.g. --max-semi-space-size=16); OPENAI_API_KEY,
OPENAI_BASE_URL, PINECONE_API_KEY, PINECONE_INDEX_HOST (passed to the API: design writes then
queue their index job; creates never call the services, so fake values will do).
`

export interface BenchOptions {
  readonly quick: boolean
  readonly durationSeconds: number
  readonly connections: number
  readonly warmupSeconds: number
  readonly users: number
  readonly designs: number
  readonly soakSeconds: number | undefined
  readonly rounds: number
  readonly jitWarmupSeconds: number
  readonly scenarios: ReadonlySet<number>
  readonly cpuProf: boolean
  readonly help: boolean
}

const positive = (name: string, raw: string | undefined, fallback: number, { allowZero = false } = {}): number => {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new Error(`--${name}: expected a ${allowZero ? "non-negative" : "positive"} number, got "${raw}"`)
  }
  return value
}

const ALL_SCENARIOS = [1, 2, 3, 4, 5, 6]

const parseScenarios = (raw: string | undefined): ReadonlySet<number> => {
  if (raw === undefined) return new Set(ALL_SCENARIOS)
  if (raw.trim() === "none") return new Set()
  const picked = raw.split(",").map((item) => Number(item.trim()))
  const bad = picked.filter((n) => !ALL_SCENARIOS.includes(n))
  if (bad.length > 0) throw new Error(`--scenarios: expected numbers among ${ALL_SCENARIOS.join(",")}, got "${raw}"`)
  return new Set(picked)
}

export const parseOptions = (argv: ReadonlyArray<string>): BenchOptions => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      duration: { type: "string" },
      connections: { type: "string" },
      warmup: { type: "string" },
      users: { type: "string" },
      designs: { type: "string" },
      soak: { type: "string" },
      scenarios: { type: "string" },
      rounds: { type: "string" },
      "jit-warmup": { type: "string" },
      "cpu-prof": { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    },
    strict: true,
    allowPositionals: false
  })
  const quick = values.quick
  const connections = Math.floor(positive("connections", values.connections, quick ? 16 : 64))
  const users = Math.floor(positive("users", values.users, quick ? 4 : 8))
  return {
    quick,
    durationSeconds: positive("duration", values.duration, quick ? 2 : 15),
    connections,
    warmupSeconds: positive("warmup", values.warmup, quick ? 1 : 5, { allowZero: true }),
    users,
    designs: Math.max(users * 4, Math.floor(positive("designs", values.designs, quick ? 200 : 4000))),
    soakSeconds: values.soak === undefined ? undefined : positive("soak", values.soak, 0),
    rounds: Math.max(1, Math.floor(positive("rounds", values.rounds, quick ? 1 : 3))),
    jitWarmupSeconds: positive("jit-warmup", values["jit-warmup"], quick ? 0 : 40, { allowZero: true }),
    scenarios: parseScenarios(values.scenarios),
    cpuProf: values["cpu-prof"],
    help: values.help
  }
}
