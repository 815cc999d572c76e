/**
 * `npm run bench:chart -- <bench/results/<stamp>.json> [out.svg]`: draws (again) the chart that
 * `npm run bench` writes beside its JSON, for a run recorded before the charts existed or after
 * the chart changed. Writes `<stamp>.svg` next to the JSON unless told otherwise. Given a
 * `growth-<stamp>.json` of `npm run bench:growth`, draws its two charts (`.svg`, `-query.svg`).
 */
import { readFileSync, writeFileSync } from "node:fs"
import { benchChart, type ChartRun } from "./bench/chart.ts"
import { growthCharts, type GrowthRun } from "./bench/growth-report.ts"

const [input, output] = process.argv.slice(2)
if (input === undefined || input === "--help") {
  console.error("Usage: node scripts/bench-chart.ts <bench/results/<stamp>.json> [out.svg]")
  process.exit(input === undefined ? 64 : 0)
}
const parsed = JSON.parse(readFileSync(input, "utf8")) as Record<string, unknown>
const target = output ?? input.replace(/\.json$/u, ".svg")
if (Array.isArray(parsed["points"])) {
  const charts = growthCharts(parsed as unknown as GrowthRun)
  writeFileSync(target, charts.latency)
  writeFileSync(target.replace(/\.svg$/u, "-query.svg"), charts.query)
  console.error(`wrote ${target} and its -query.svg`)
  process.exit(0)
}
const run = parsed as unknown as {
  readonly startedAt: string
  readonly command: string
  readonly machine: { readonly cores: number }
  readonly settings: { readonly connections: number; readonly durationSeconds: number }
  readonly options?: { readonly quick?: boolean }
  readonly runs: ReadonlyArray<ChartRun>
}
writeFileSync(target, benchChart(run.runs, {
  title: `Benchmark ${run.startedAt.slice(0, 16).replace("T", " ")} UTC${run.options?.quick === true ? " (quick)" : ""}: the API beside its baseline`,
  subtitle: `${run.command} · ${run.settings.connections} connections, ${run.settings.durationSeconds} s per scenario · ` +
    `${run.machine.cores} cores shared by load generator, servers, PostgreSQL and Redis`
}))
console.error(`wrote ${target}`)
