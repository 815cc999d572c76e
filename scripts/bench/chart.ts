/**
 * Hand-written SVG charts for the bench reports: a grouped horizontal bar chart (one row per
 * scenario, one panel per measure) and a line chart with a logarithmic x axis (the growth
 * curve). Pure functions from numbers to an SVG string: no dependency, no DOM, readable in a
 * browser, on GitHub and in an editor. Every chart carries a `<title>` and a `<desc>` for
 * screen readers, a legend, axis labels and the value of every bar or point.
 */

export interface Series {
  readonly name: string
  readonly color: string
}

export interface BarPanel {
  /** The axis label under the panel, e.g. "requests per second (higher is better)". */
  readonly axisLabel: string
  readonly format: (value: number) => string
  /** One row per group (in `BarChart.groups` order), one value per series; undefined: no bar. */
  readonly values: ReadonlyArray<ReadonlyArray<number | undefined>>
}

export interface BarChart {
  readonly title: string
  readonly subtitle?: string
  /** Read by screen readers, in addition to the title. */
  readonly description: string
  readonly series: ReadonlyArray<Series>
  /** Row labels, e.g. the scenarios. */
  readonly groups: ReadonlyArray<string>
  readonly panels: ReadonlyArray<BarPanel>
}

export interface LinePoint {
  readonly x: number
  readonly y: number
}

export interface LineChart {
  readonly title: string
  readonly subtitle?: string
  readonly description: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: ReadonlyArray<Series & { readonly points: ReadonlyArray<LinePoint>; readonly dashed?: boolean }>
  readonly formatX: (value: number) => string
  readonly formatY: (value: number) => string
}

/** Colour-blind-safe pairs (Okabe–Ito). */
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"] as const

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"

export const escapeXml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

const num = (value: number) => String(Math.round(value * 10) / 10)

const attributes = (attrs: Record<string, string | number | undefined>) =>
  Object.entries(attrs)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(typeof value === "number" ? num(value) : value!)}"`)
    .join("")

const element = (name: string, attrs: Record<string, string | number | undefined>, text?: string) =>
  text === undefined ? `<${name}${attributes(attrs)}/>` : `<${name}${attributes(attrs)}>${escapeXml(text)}</${name}>`

/** Ticks at 1, 2 or 5 times a power of ten, from 0 to at least `max`. */
export const niceTicks = (max: number, count = 5): ReadonlyArray<number> => {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1]
  const rough = max / count
  const power = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough)!
  const ticks: Array<number> = []
  for (let i = 0; ; i++) {
    const tick = Math.round(i * step * 1e9) / 1e9
    ticks.push(tick)
    if (tick >= max) return ticks
  }
}

/** Axis ticks are round numbers: no trailing zeros, thousands grouped. */
const formatTick = (tick: number) => tick.toLocaleString("en-US", { maximumFractionDigits: 6 })

/**
 * The end of a panel's axis: the largest value, unless one value dwarfs all the others (a login
 * storm's 10 s p99 beside reads in tens of ms: ten times the next, among three or more); the
 * axis then ends past the second largest and
 * that one bar is drawn broken, with its value, so the other bars stay readable.
 */
export const scaleMaximum = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => b - a)
  const [first = 0, second = 0] = sorted
  return sorted.length >= 3 && second > 0 && first > 10 * second ? second * 1.15 : first
}

/** Rough width of a label in a 12 px sans-serif font, to size the label column. */
const textWidth = (text: string, size = 12) => text.length * size * 0.56

const svgOpen = (width: number, height: number, title: string, description: string) => [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
  `role="img" aria-labelledby="chart-title chart-desc" font-family="${escapeXml(FONT)}" font-size="12">`,
  element("title", { id: "chart-title" }, title),
  element("desc", { id: "chart-desc" }, description),
  element("rect", { x: 0, y: 0, width, height, fill: "#ffffff" })
]

const heading = (chart: { readonly title: string; readonly subtitle?: string | undefined }, x: number) => [
  element("text", { x, y: 26, "font-size": 17, "font-weight": "bold", fill: "#111111" }, chart.title),
  ...(chart.subtitle === undefined ? [] : [element("text", { x, y: 46, fill: "#555555" }, chart.subtitle)])
]

/** Where each legend entry goes: left to right, wrapped onto a new line before `maxWidth`. */
const legendLayout = (series: ReadonlyArray<Series>, maxWidth: number) => {
  let line = 0
  let at = 0
  const places = series.map((item) => {
    const width = 20 + textWidth(item.name)
    if (at > 0 && at + width > maxWidth) {
      line++
      at = 0
    }
    const place = { dx: at, line }
    at += width + 24
    return place
  })
  return { places, lines: line + 1 }
}

const legend = (series: ReadonlyArray<Series & { readonly dashed?: boolean }>, x: number, y: number, maxWidth = Number.POSITIVE_INFINITY) => {
  const parts = legendLayout(series, maxWidth).places.flatMap(({ dx, line }, i) => {
    const item = series[i]!
    const at = x + dx
    const base = y + 18 * line
    return [
      item.dashed === true
        ? element("line", { x1: at, y1: base - 4, x2: at + 14, y2: base - 4, stroke: item.color, "stroke-width": 2.5, "stroke-dasharray": "5 3" })
        : element("rect", { x: at, y: base - 10, width: 14, height: 12, fill: item.color }),
      element("text", { x: at + 20, y: base }, item.name)
    ]
  })
  return `<g class="legend">${parts.join("")}</g>`
}

/**
 * Rows of labelled groups, each with one horizontal bar per series in every panel: long labels
 * (routes) stay readable on the left, and the panels share them.
 */
export const barChart = (chart: BarChart): string => {
  const margin = 16
  const labelWidth = Math.ceil(Math.max(80, ...chart.groups.map((label) => textWidth(label)))) + 12
  const panelWidth = 300
  const valueRoom = 110
  const panelGap = 28
  const barHeight = 14
  const barGap = 3
  const groupGap = 14
  const top = chart.subtitle === undefined ? 76 : 94
  const groupHeight = chart.series.length * (barHeight + barGap) - barGap
  const plotHeight = chart.groups.length * (groupHeight + groupGap) + groupGap
  const width = margin + labelWidth + chart.panels.length * (panelWidth + valueRoom + panelGap) - panelGap + margin
  const height = top + plotHeight + 52
  const out = svgOpen(width, height, chart.title, chart.description)
  out.push(...heading(chart, margin), legend(chart.series, margin, top - 18))
  chart.groups.forEach((label, g) => {
    const y = top + groupGap + g * (groupHeight + groupGap)
    out.push(element("text", { x: margin + labelWidth - 10, y: y + groupHeight / 2 + 4, "text-anchor": "end", fill: "#111111", class: "group-label" }, label))
  })
  chart.panels.forEach((panel, p) => {
    const left = margin + labelWidth + p * (panelWidth + valueRoom + panelGap)
    const ticks = niceTicks(scaleMaximum(panel.values.flatMap((row) => row.filter((v): v is number => v !== undefined))))
    const end = ticks[ticks.length - 1]!
    const scale = panelWidth / end
    const parts: Array<string> = []
    for (const tick of ticks) {
      const x = left + tick * scale
      parts.push(
        element("line", { x1: x, y1: top, x2: x, y2: top + plotHeight, stroke: tick === 0 ? "#333333" : "#e3e3e3" }),
        element("text", { x, y: top + plotHeight + 16, "text-anchor": "middle", fill: "#444444", class: "tick" }, formatTick(tick))
      )
    }
    parts.push(
      element("text", { x: left + panelWidth / 2, y: top + plotHeight + 38, "text-anchor": "middle", "font-weight": "bold", fill: "#222222", class: "axis-label" }, panel.axisLabel)
    )
    panel.values.forEach((row, g) => {
      const y = top + groupGap + g * (groupHeight + groupGap)
      row.forEach((value, s) => {
        if (value === undefined) return
        const series = chart.series[s]!
        const barY = y + s * (barHeight + barGap)
        const offScale = value > end
        const barWidth = Math.max(1, Math.min(value, end) * scale)
        const text = `${series.name}, ${chart.groups[g]}: ${panel.format(value)} ${panel.axisLabel}`
        parts.push(
          `<rect${attributes({ x: left, y: barY, width: barWidth, height: barHeight, fill: series.color, class: "bar" })}>${element("title", {}, text)}</rect>`,
          // A break in the bar: it goes on beyond the axis.
          ...(offScale
            ? [element("path", { d: `M${num(left + barWidth - 14)} ${num(barY + barHeight + 1)} l6 ${-barHeight - 2} m4 0 l-6 ${barHeight + 2}`, stroke: "#ffffff", "stroke-width": 2.5, fill: "none" })]
            : []),
          element("text", { x: left + barWidth + 4, y: barY + barHeight - 3, fill: "#111111", class: "value" }, `${panel.format(value)}${offScale ? " (off scale)" : ""}`)
        )
      })
    })
    out.push(`<g class="panel">${parts.join("")}</g>`)
  })
  out.push("</svg>")
  return `${out.join("\n")}\n`
}

/**
 * Where each point's value label goes: flat curves put several labels at the same spot, so the
 * labels at one x are spread apart (top to bottom, at least one line apart). Keyed `series:x`.
 */
const valueLabelPositions = (series: ReadonlyArray<ReadonlyArray<LinePoint>>, lineHeight = 13) => {
  const byX = new Map<number, Array<{ readonly key: string; readonly y: number }>>()
  series.forEach((points, s) => {
    for (const point of points) {
      const at = byX.get(point.x) ?? []
      at.push({ key: `${s}:${point.x}`, y: point.y })
      byX.set(point.x, at)
    }
  })
  const positions = new Map<string, number>()
  for (const labels of byX.values()) {
    let previous = Number.NEGATIVE_INFINITY
    for (const label of [...labels].sort((a, b) => a.y - b.y)) {
      const y = Math.max(label.y, previous + lineHeight)
      positions.set(label.key, y)
      previous = y
    }
  }
  return positions
}

/** A line per series over a logarithmic x axis (one tick per power of ten) and a linear y axis from 0. */
export const logLineChart = (chart: LineChart): string => {
  const margin = 16
  const left = 72
  const plotWidth = 560
  const plotHeight = 300
  const width = left + plotWidth + 90 + margin
  const legendLines = legendLayout(chart.series, width - 2 * margin).lines
  const top = (chart.subtitle === undefined ? 84 : 102) + 18 * (legendLines - 1)
  const height = top + plotHeight + 60
  const points = chart.series.flatMap((series) => series.points)
  const xs = points.map((point) => point.x).filter((x) => x > 0)
  const low = xs.length === 0 ? 0 : Math.floor(Math.log10(Math.min(...xs)))
  const high = xs.length === 0 ? 1 : Math.max(low + 1, Math.ceil(Math.log10(Math.max(...xs))))
  const ticks = niceTicks(Math.max(0, ...points.map((point) => point.y)))
  const yMax = ticks[ticks.length - 1]!
  const xAt = (x: number) => left + ((Math.log10(x) - low) / (high - low)) * plotWidth
  const yAt = (y: number) => top + plotHeight - (y / yMax) * plotHeight
  const out = svgOpen(width, height, chart.title, chart.description)
  out.push(...heading(chart, margin), legend(chart.series, margin, top - 26 - 18 * (legendLines - 1), width - 2 * margin))
  const grid: Array<string> = []
  for (const tick of ticks) {
    grid.push(
      element("line", { x1: left, y1: yAt(tick), x2: left + plotWidth, y2: yAt(tick), stroke: tick === 0 ? "#333333" : "#e3e3e3" }),
      element("text", { x: left - 6, y: yAt(tick) + 4, "text-anchor": "end", fill: "#444444", class: "tick" }, formatTick(tick))
    )
  }
  for (let power = low; power <= high; power++) {
    const x = xAt(10 ** power)
    grid.push(
      element("line", { x1: x, y1: top, x2: x, y2: top + plotHeight, stroke: power === low ? "#333333" : "#e3e3e3" }),
      element("text", { x, y: top + plotHeight + 16, "text-anchor": "middle", fill: "#444444", class: "tick" }, chart.formatX(10 ** power))
    )
  }
  grid.push(
    element("text", { x: left + plotWidth / 2, y: top + plotHeight + 40, "text-anchor": "middle", "font-weight": "bold", fill: "#222222", class: "axis-label" }, chart.xLabel),
    element("text", {
      x: 18,
      y: top + plotHeight / 2,
      "text-anchor": "middle",
      "font-weight": "bold",
      fill: "#222222",
      transform: `rotate(-90 18 ${num(top + plotHeight / 2)})`,
      class: "axis-label"
    }, chart.yLabel)
  )
  out.push(`<g class="grid">${grid.join("")}</g>`)
  const labelY = valueLabelPositions(chart.series.map((series) => series.points.map((point) => ({ x: point.x, y: yAt(point.y) - 6 }))))
  chart.series.forEach((series, s) => {
    const sorted = [...series.points].filter((point) => point.x > 0).sort((a, b) => a.x - b.x)
    const parts = [
      element("polyline", {
        points: sorted.map((point) => `${num(xAt(point.x))},${num(yAt(point.y))}`).join(" "),
        fill: "none",
        stroke: series.color,
        "stroke-width": 2.5,
        "stroke-dasharray": series.dashed === true ? "6 4" : undefined
      })
    ]
    for (const point of sorted) {
      const text = `${series.name}, ${chart.formatX(point.x)}: ${chart.formatY(point.y)}`
      parts.push(
        `<circle${attributes({ cx: xAt(point.x), cy: yAt(point.y), r: 4, fill: series.color, class: "point" })}>${element("title", {}, text)}</circle>`,
        element("text", { x: xAt(point.x) + 7, y: labelY.get(`${s}:${point.x}`) ?? yAt(point.y) - 6, fill: series.color, class: "value" }, chart.formatY(point.y))
      )
    }
    out.push(`<g class="series">${parts.join("")}</g>`)
  })
  out.push("</svg>")
  return `${out.join("\n")}\n`
}

/** The subset of a bench run the chart needs (see `Run` in report.ts). */
export interface ChartRun {
  readonly scenario: number
  readonly label: string
  readonly server: "api" | "baseline"
  readonly round?: number
  readonly vsBaseline?: number
  readonly summary: { readonly ok: number; readonly requestsPerSecond: number; readonly latencyMs: { readonly p99: number } }
}

const compact = (value: number) => value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2).replace(/\.?0+$/, "")

/**
 * One row per scenario run label: the API's throughput and p99 beside the baseline's. Where
 * the API and the baseline alternate rounds, the round with the median API/baseline ratio (the
 * one the goals use); a scenario without a baseline shows the API alone.
 */
export const benchChart = (runs: ReadonlyArray<ChartRun>, options: { readonly title: string; readonly subtitle?: string }): string => {
  const labels = [...new Set(runs.map((run) => `${run.scenario} ${run.label}`))]
  const pick = (key: string, server: ChartRun["server"]): ChartRun | undefined => {
    const mine = runs.filter((run) => `${run.scenario} ${run.label}` === key && run.server === server)
    if (server === "baseline") {
      const api = pick(key, "api")
      return mine.find((run) => run.round === api?.round) ?? mine[0]
    }
    const ratioed = mine.filter((run) => run.vsBaseline !== undefined).sort((a, b) => a.vsBaseline! - b.vsBaseline!)
    return ratioed[Math.floor((ratioed.length - 1) / 2)] ?? mine[0]
  }
  const rows = labels.map((key) => [pick(key, "api"), pick(key, "baseline")] as const)
  const values = (measure: (run: ChartRun) => number) =>
    rows.map((row) => row.map((run) => run === undefined || run.summary.ok === 0 ? undefined : measure(run)))
  const series = [{ name: "the API", color: PALETTE[0] }, { name: "baseline (raw node:http)", color: PALETTE[1] }]
  return barChart({
    title: options.title,
    ...(options.subtitle === undefined ? {} : { subtitle: options.subtitle }),
    description: `Throughput and p99 latency of the API beside its baseline, per scenario. ` +
      rows.map(([api, baseline], i) =>
        `${labels[i]}: ${[api, baseline].filter((run) => run !== undefined).map((run) =>
          `${run!.server} ${compact(run!.summary.requestsPerSecond)} req/s, p99 ${compact(run!.summary.latencyMs.p99)} ms`
        ).join("; ")}.`
      ).join(" "),
    series,
    groups: labels,
    panels: [
      { axisLabel: "requests per second (more is better)", format: compact, values: values((run) => run.summary.requestsPerSecond) },
      { axisLabel: "p99 latency, ms (less is better)", format: compact, values: values((run) => run.summary.latencyMs.p99) }
    ]
  })
}
