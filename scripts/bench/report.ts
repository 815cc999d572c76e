/**
 * The report: one Markdown table of every measured run, the goals with PASS/MISS, the soak,
 * and the JSON document written under bench/results/.
 */
import type { LoadSummary } from "./load.ts"

export interface Machine {
  readonly cores: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly os: string
  readonly kernel: string
  readonly node: string
  readonly postgres: string
  /** `SELECT version()`, whole. */
  readonly postgresVersion: string
  readonly redis: string
  readonly uvThreadpoolSize: string
  /** 1-minute load average when the bench started: other work on the machine skews every number. */
  readonly loadAverageAtStart: number
}

export interface Run {
  /** Scenario number, 1 to 6. */
  readonly scenario: number
  readonly label: string
  readonly server: "api" | "baseline"
  /** Scenarios 2 and 4 alternate the API and the baseline in rounds (1, 2, ...). */
  readonly round?: number
  readonly summary: LoadSummary
  /**
   * Non-2xx statuses this run is meant to provoke, not counted as unexpected: the login storm's
   * 503 `busy`, the admission control in front of bcrypt refusing what would wait too long.
   */
  readonly expectedStatuses?: ReadonlyArray<number>
  readonly peakRssKiB: number
  /**
   * The server's own CPU time (user + system) per response, in microseconds: unlike req/s it
   * barely moves when other processes compete for the cores, so it compares code changes.
   */
  readonly cpuMicrosPerRequest?: number
  /** Share of the machine's CPU used by processes outside the bench during the run, percent. */
  readonly otherCpuPercent: number
  /** Of which the hypervisor's steal, percent. */
  readonly stealPercent: number
  /** The throughput as a share of the baseline's, for scenarios 2 and 4. */
  readonly vsBaseline?: number
}

export interface SoakPart {
  readonly kind: string
  readonly summary: LoadSummary
}

export interface Soak {
  readonly seconds: number
  readonly warmupSeconds: number
  readonly connections: number
  readonly parts: ReadonlyArray<SoakPart>
  readonly requestsPerSecond: number
  readonly responses: number
  readonly errors: number
  readonly non2xx: number
  /** Idle (settled) after the warm-up. */
  readonly rssAfterWarmupKiB: number
  /** Idle (settled) after the soak: the leak check compares it with `rssAfterWarmupKiB`. */
  readonly rssAtEndKiB: number
  /** The last sample while the soak's load still ran. */
  readonly rssUnderLoadAtEndKiB: number
  readonly peakRssKiB: number
  readonly rssSeries: ReadonlyArray<{ readonly atMs: number; readonly rssKiB: number }>
  readonly otherCpuPercent: number
}

export interface Goal {
  readonly goal: string
  readonly target: string
  readonly measured: string
  readonly pass: boolean
}

const mib = (kib: number) => (kib / 1024).toFixed(0)
const rate = (value: number) => value >= 100 ? value.toFixed(0) : value.toFixed(1)
const ms = (value: number) => value >= 100 ? value.toFixed(0) : value.toFixed(1)
const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`

export const find = (runs: ReadonlyArray<Run>, scenario: number, server: Run["server"], label?: string) =>
  runs.find((run) => run.scenario === scenario && run.server === server && (label === undefined || run.label === label))

const median = <A>(items: ReadonlyArray<A>, by: (item: A) => number): A | undefined =>
  [...items].sort((a, b) => by(a) - by(b))[Math.floor((items.length - 1) / 2)]

/**
 * The API's run of the round whose API/baseline ratio is the median one: the machine's speed
 * drifts between runs, and alternating rounds keep one slow spell from deciding a goal.
 */
export const medianRound = (runs: ReadonlyArray<Run>, scenario: number) => {
  const mine = median(runs.filter((run) => run.scenario === scenario && run.server === "api" && run.vsBaseline !== undefined), (run) => run.vsBaseline!)
  const theirs = mine === undefined ? undefined : runs.find((run) => run.scenario === scenario && run.server === "baseline" && run.round === mine.round)
  return mine === undefined || theirs === undefined ? undefined : { api: mine, baseline: theirs, ratio: mine.vsBaseline! }
}

const roundsNote = (runs: ReadonlyArray<Run>, scenario: number) => {
  const ratios = runs.filter((run) => run.scenario === scenario && run.server === "api" && run.vsBaseline !== undefined).map((run) => percent(run.vsBaseline!))
  return ratios.length > 1 ? `; median of rounds ${ratios.join(", ")}` : ""
}

export const evaluateGoals = (runs: ReadonlyArray<Run>, storm: { readonly read: Run | undefined }, soak: Soak | undefined): Array<Goal> => {
  const goals: Array<Goal> = []
  const getRound = medianRound(runs, 2)
  const get = getRound === undefined
    ? undefined
    : median(runs.filter((run) => run.scenario === 2 && run.server === "api"), (run) => run.summary.latencyMs.p99)
  const createRound = medianRound(runs, 4)
  if (getRound !== undefined && get !== undefined) {
    const { api: mine, baseline: theirs, ratio } = getRound
    goals.push({
      goal: "2 GET design (cache hit): throughput vs baseline",
      target: ">= 60%",
      measured: `${percent(ratio)} (${rate(mine.summary.requestsPerSecond)} vs ${rate(theirs.summary.requestsPerSecond)} req/s${roundsNote(runs, 2)})`,
      pass: ratio >= 0.6
    })
    const p99s = runs.filter((run) => run.scenario === 2 && run.server === "api").map((run) => ms(run.summary.latencyMs.p99))
    goals.push({
      goal: "2 GET design (cache hit): p99",
      target: "<= 15 ms",
      measured: `${ms(get.summary.latencyMs.p99)} ms${p99s.length > 1 ? ` (median of ${p99s.join(", ")})` : ""}`,
      pass: get.summary.latencyMs.p99 <= 15
    })
  }
  if (createRound !== undefined) {
    const { api: mine, baseline: theirs, ratio } = createRound
    goals.push({
      goal: "4 POST design: throughput vs baseline",
      target: ">= 75%",
      measured: `${percent(ratio)} (${rate(mine.summary.requestsPerSecond)} vs ${rate(theirs.summary.requestsPerSecond)} req/s${roundsNote(runs, 4)})`,
      pass: ratio >= 0.75
    })
    const create = median(runs.filter((run) => run.scenario === 4 && run.server === "api"), (run) => run.summary.latencyMs.p99)!
    goals.push({
      goal: "4 POST design: p99",
      target: "<= 40 ms",
      measured: `${ms(create.summary.latencyMs.p99)} ms`,
      pass: create.summary.latencyMs.p99 <= 40
    })
  }
  const apiRuns = runs.filter((run) => run.server === "api")
  const errors = apiRuns.reduce((sum, run) => sum + run.summary.errors, 0) + (soak?.errors ?? 0)
  const non2xx = apiRuns.reduce((sum, run) => sum + unexpected(run), 0) + (soak?.non2xx ?? 0)
  const offenders = [
    ...apiRuns.filter((run) => run.summary.errors + unexpected(run) > 0).map((run) =>
      `${run.scenario} ${run.label}: ${run.summary.errors} errors, ${unexpected(run)} unexpected non-2xx` +
      (run.summary.non2xx > 0 ? ` ${JSON.stringify(nonOk(run.summary))}` : "")
    ),
    ...(soak !== undefined && soak.errors + soak.non2xx > 0 ? [`soak: ${soak.errors} errors, ${soak.non2xx} non-2xx`] : [])
  ]
  goals.push({
    goal: `API: errors and unexpected non-2xx (every scenario${soak === undefined ? "" : " and the soak"})`,
    target: "0 and 0",
    measured: `${errors} and ${non2xx}${offenders.length === 0 ? "" : ` (${offenders.join("; ")})`}`,
    pass: errors === 0 && non2xx === 0
  })
  const apiPeak = Math.max(0, ...apiRuns.map((run) => run.peakRssKiB), soak?.peakRssKiB ?? 0)
  const baselinePeak = Math.max(0, ...runs.filter((run) => run.server === "baseline").map((run) => run.peakRssKiB))
  if (baselinePeak > 0) {
    const ratio = apiPeak / baselinePeak
    goals.push({
      goal: "API peak RSS vs baseline peak RSS",
      target: "<= 1.5x",
      measured: `${ratio.toFixed(2)}x (${mib(apiPeak)} vs ${mib(baselinePeak)} MiB)`,
      pass: ratio <= 1.5
    })
  }
  if (soak !== undefined && soak.rssAfterWarmupKiB > 0) {
    const growth = soak.rssAtEndKiB / soak.rssAfterWarmupKiB - 1
    goals.push({
      goal: `Soak ${soak.seconds} s: idle RSS after the soak vs after the warm-up`,
      target: "within 10%",
      measured: `${growth >= 0 ? "+" : ""}${(growth * 100).toFixed(1)}% (${mib(soak.rssAfterWarmupKiB)} → ${mib(soak.rssAtEndKiB)} MiB)`,
      pass: growth <= 0.1
    })
  }
  if (get !== undefined && storm.read !== undefined) {
    const during = storm.read.summary
    const ratio = during.latencyMs.p99 / Math.max(get.summary.latencyMs.p99, 0.001)
    const failed = during.errors + during.non2xx
    goals.push({
      goal: "6 GET design p99 during the login storm vs without",
      target: "<= 3x",
      measured: during.ok === 0
        ? `no read completed during the storm (${during.errors} errors, ${during.timeouts} timeouts)`
        : `${ratio.toFixed(1)}x (${ms(during.latencyMs.p99)} vs ${ms(get.summary.latencyMs.p99)} ms)` +
          (failed > 0 ? `; ${failed} reads failed or timed out` : ""),
      pass: during.ok > 0 && failed === 0 && ratio <= 3
    })
  }
  return goals
}

/** Non-2xx answers the run was not meant to provoke. */
const unexpected = (run: Run) =>
  run.summary.non2xx -
  (run.expectedStatuses ?? []).reduce((sum, status) => sum + (run.summary.statusCodes[String(status)] ?? 0), 0)

const nonOk = (summary: LoadSummary) =>
  Object.fromEntries(Object.entries(summary.statusCodes).filter(([code]) => !code.startsWith("2")))

export const markdown = (report: {
  readonly title: string
  readonly command: string
  readonly machine: Machine
  readonly settings: string
  readonly runs: ReadonlyArray<Run>
  readonly goals: ReadonlyArray<Goal>
  readonly soak: Soak | undefined
  readonly notes: ReadonlyArray<string>
}): string => {
  const { machine } = report
  const lines: Array<string> = [
    `### ${report.title}`,
    "",
    `Command: \`${report.command}\``,
    "",
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB.toFixed(1)} GiB, ${machine.os} (Linux ${machine.kernel}). ` +
    `Node ${machine.node}, ${machine.postgres}, Redis ${machine.redis}. Load average at start ${machine.loadAverageAtStart.toFixed(2)}.`,
    "",
    `Settings: ${report.settings}`
  ]
  if (report.runs.length > 0) {
    lines.push(
      "",
      "| # | scenario | server | req/s | p50 ms | p99 ms | non-2xx | errors | peak RSS MiB | vs baseline | CPU µs/req | other CPU |",
      "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
  }
  for (const run of report.runs) {
    const s = run.summary
    const latency = (value: number) => s.ok === 0 ? "n/a" : ms(value)
    lines.push(
      `| ${run.scenario} | ${run.label} | ${run.server}${run.round === undefined ? "" : ` #${run.round}`} | ${rate(s.requestsPerSecond)} | ${latency(s.latencyMs.p50)} | ${latency(s.latencyMs.p99)} | ` +
        `${s.non2xx} | ${s.errors} | ${mib(run.peakRssKiB)} | ${run.vsBaseline === undefined ? "" : percent(run.vsBaseline)} | ` +
        `${run.cpuMicrosPerRequest ?? ""} | ${run.otherCpuPercent.toFixed(0)}% |`
    )
  }
  lines.push("", "| goal | target | measured | result |", "|---|---|---|---|")
  for (const goal of report.goals) lines.push(`| ${goal.goal} | ${goal.target} | ${goal.measured} | ${goal.pass ? "PASS" : "MISS"} |`)
  if (report.soak !== undefined) {
    const soak = report.soak
    lines.push(
      "",
      `Soak: ${soak.seconds} s of mixed load (${soak.parts.map((part) => `${part.kind} ${part.summary.connections}`).join(", ")} connections) after a ${soak.warmupSeconds} s warm-up.`,
      "",
      "| requests | req/s | errors | non-2xx | idle RSS after warm-up MiB | idle RSS after the soak MiB | RSS under load at the end MiB | peak RSS MiB | other CPU |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      `| ${soak.responses} | ${rate(soak.requestsPerSecond)} | ${soak.errors} | ${soak.non2xx} | ${mib(soak.rssAfterWarmupKiB)} | ` +
      `${mib(soak.rssAtEndKiB)} | ${mib(soak.rssUnderLoadAtEndKiB)} | ${mib(soak.peakRssKiB)} | ${soak.otherCpuPercent.toFixed(0)}% |`,
      "",
      "| soak part | req/s | p50 ms | p99 ms | non-2xx | errors |",
      "|---|---:|---:|---:|---:|---:|",
      ...soak.parts.map((part) =>
        `| ${part.kind} | ${rate(part.summary.requestsPerSecond)} | ${ms(part.summary.latencyMs.p50)} | ${ms(part.summary.latencyMs.p99)} | ${part.summary.non2xx} | ${part.summary.errors} |`
      )
    )
  }
  if (report.notes.length > 0) lines.push("", ...report.notes.map((note) => `- ${note}`))
  return `${lines.join("\n")}\n`
}
