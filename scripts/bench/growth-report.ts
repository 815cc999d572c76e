/**
 * The report of `npm run bench:growth`: the Markdown table and two charts over the table size
 * (log axis): the HTTP p99 as a client sees it, and the list query's time inside PostgreSQL,
 * which neither the HTTP stack nor a busy machine's scheduling blurs.
 */
import type { LoadSummary } from "./load.ts"
import { logLineChart, PALETTE } from "./chart.ts"

export type Layout = "one owner" | "many owners"
export type Page = "first page" | "deep page"

export interface GrowthPoint {
  readonly layout: Layout
  readonly designs: number
  readonly perOwner: number
  readonly page: Page
  /** Where the deep page starts: designs of the owner before the cursor. */
  readonly skipped: number
  readonly summary: LoadSummary
  readonly otherCpuPercent: number
  /** The API process's own CPU time per response: less moved by neighbours than latency. */
  readonly apiCpuMicrosPerRequest?: number
  /** EXPLAIN ANALYZE of the list query as the API sends it, for one measured owner (the median run). */
  readonly plan: ReadonlyArray<string>
  readonly planMs: number
  readonly planP99Ms?: number
}

export interface GrowthRun {
  readonly startedAt: string
  readonly command: string
  readonly sizes: ReadonlyArray<number>
  readonly owners: number
  readonly connections: number
  readonly durationSeconds: number
  readonly warmupSeconds: number
  readonly postgres?: string
  readonly cores?: number
  readonly loadAverageAtEnd?: number
  readonly points: ReadonlyArray<GrowthPoint>
}

const ms = (value: number) => value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(3)
const count = (value: number) => value.toLocaleString("en-US")
const scanOf = (point: GrowthPoint) =>
  (point.plan.find((line) => /Scan/.test(line)) ?? "").trim().replace(/\s+\(cost.*$/, "").replace(/^->\s*/, "")

export const growthTable = (run: GrowthRun): string => [
  `Command: \`${run.command}\`, ${run.startedAt.slice(0, 16).replace("T", " ")} UTC; ${run.connections} connections, ${run.durationSeconds} s per point ` +
  `after ${run.warmupSeconds} s of warm-up; ${run.cores ?? 2} cores shared with other work` +
  `${run.loadAverageAtEnd === undefined ? "" : ` (load average at the end ${run.loadAverageAtEnd.toFixed(2)})`}; ` +
  `${/^PostgreSQL \S+/.exec(run.postgres ?? "")?.[0] ?? "PostgreSQL"}, throwaway (fsync off).`,
  "",
  "| layout | designs in the table | designs of the listed owner | page | req/s | p50 ms | p99 ms | API CPU µs/req | query ms in PostgreSQL, p50 / p99 of 50 | plan | other CPU |",
  "|---|---:|---:|---|---:|---:|---:|---:|---:|---|---:|",
  ...run.points.map((point) =>
    `| ${point.layout} | ${count(point.designs)} | ${count(point.perOwner)} | ${point.page === "first page" ? "first" : `deep (after ${count(point.skipped)})`} | ` +
    `${point.summary.requestsPerSecond.toFixed(0)} | ${ms(point.summary.latencyMs.p50)} | ${ms(point.summary.latencyMs.p99)} | ${point.apiCpuMicrosPerRequest ?? ""} | ` +
    `${point.planMs.toFixed(3)}${point.planP99Ms === undefined ? "" : ` / ${point.planP99Ms.toFixed(3)}`} | ${scanOf(point)} | ${point.otherCpuPercent.toFixed(0)}% |`
  )
].join("\n")

const LAYOUTS: ReadonlyArray<Layout> = ["one owner", "many owners"]
const PAGES: ReadonlyArray<Page> = ["first page", "deep page"]

const chartOf = (run: GrowthRun, spec: {
  readonly title: string
  readonly what: string
  readonly yLabel: string
  readonly measure: (point: GrowthPoint) => number
}) => {
  const series = LAYOUTS.flatMap((layout, l) =>
    PAGES.map((page, p) => ({
      name: `${layout === "many owners" ? `${count(run.owners)} owners` : layout}, ${page}`,
      color: PALETTE[l * 2 + p]!,
      dashed: page === "deep page",
      points: run.points.filter((point) => point.layout === layout && point.page === page).map((point) => ({ x: point.designs, y: spec.measure(point) }))
    }))
  ).filter((line) => line.points.length > 0)
  return logLineChart({
    title: spec.title,
    subtitle: `${run.command} · ${run.connections} connections · ${run.startedAt.slice(0, 10)} · flat: the list costs the same at any size`,
    description: `${spec.what} of GET /api/v1/designs?limit=20, the first page and a deep page (after 90% of the owner's designs), with ` +
      `${run.sizes.map(count).join(", ")} designs in the table, for one owner and for ${count(run.owners)} owners. ` +
      series.map((line) => `${line.name}: ${line.points.map((point) => `${count(point.x)} designs ${ms(point.y)} ms`).join(", ")}.`).join(" "),
    xLabel: "designs in the table (log scale)",
    yLabel: spec.yLabel,
    series,
    formatX: (value) => value >= 1e6 ? `${value / 1e6}M` : value >= 1e3 ? `${value / 1e3}k` : String(value),
    formatY: ms
  })
}

export const growthCharts = (run: GrowthRun) => ({
  latency: chartOf(run, {
    title: "GET /api/v1/designs?limit=20: p99 as the designs table grows",
    what: "p99 latency in milliseconds, over HTTP,",
    yLabel: "p99 latency over HTTP, ms",
    measure: (point) => point.summary.latencyMs.p99
  }),
  query: chartOf(run, {
    title: "The list query inside PostgreSQL as the designs table grows",
    what: "The median execution time (EXPLAIN ANALYZE, 50 runs) in milliseconds of the query behind",
    yLabel: "query time in PostgreSQL (median), ms",
    measure: (point) => point.planMs
  })
})
