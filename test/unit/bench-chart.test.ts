import { describe, expect, it } from "vitest"
import { benchChart, type ChartRun, logLineChart, niceTicks, scaleMaximum } from "../../scripts/bench/chart.ts"

interface Node {
  readonly name: string
  readonly attributes: Record<string, string>
  readonly children: Array<Node>
  text: string
}

const ENTITY = /^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/iu
const TAG = /^<(\/?)([A-Za-z][\w:.-]*)((?:\s+[A-Za-z_:][\w:.-]*="[^"<]*")*)\s*(\/?)>/u

/**
 * A strict XML well-formedness check (what an SVG viewer requires): every tag closed in order,
 * attributes quoted and unique, no bare `<` or `&`. Returns the element tree.
 */
const parseXml = (xml: string): Node => {
  const rootHolder: Node = { name: "#document", attributes: {}, children: [], text: "" }
  const stack: Array<Node> = [rootHolder]
  let at = 0
  while (at < xml.length) {
    const rest = xml.slice(at)
    if (rest.startsWith("<")) {
      const tag = TAG.exec(rest)
      if (tag === null) throw new Error(`malformed tag at ${at}: ${rest.slice(0, 40)}`)
      const [whole, closing, name, attributeText, selfClosing] = tag
      if (closing === "/") {
        const open = stack.pop()
        if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}> at ${at}`)
      } else {
        const attributes: Record<string, string> = {}
        for (const [, key, value] of attributeText!.matchAll(/([A-Za-z_:][\w:.-]*)="([^"]*)"/gu)) {
          if (key! in attributes) throw new Error(`duplicate attribute ${key} on <${name}>`)
          if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);)/iu.test(value!)) throw new Error(`bare & in ${key}`)
          attributes[key!] = value!
        }
        const node: Node = { name: name!, attributes, children: [], text: "" }
        stack[stack.length - 1]!.children.push(node)
        if (selfClosing !== "/") stack.push(node)
      }
      at += whole.length
    } else if (rest.startsWith("&")) {
      const entity = ENTITY.exec(rest)
      if (entity === null) throw new Error(`bare & at ${at}`)
      stack[stack.length - 1]!.text += entity[0]
      at += entity[0].length
    } else {
      const next = rest.search(/[<&]/u)
      const text = next === -1 ? rest : rest.slice(0, next)
      if (stack.length === 1 && text.trim() !== "") throw new Error(`text outside the root element: ${text.slice(0, 40)}`)
      stack[stack.length - 1]!.text += text
      at += text.length
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`)
  if (rootHolder.children.length !== 1) throw new Error("not exactly one root element")
  return rootHolder.children[0]!
}

const all = (node: Node, predicate: (node: Node) => boolean): Array<Node> =>
  [...(predicate(node) ? [node] : []), ...node.children.flatMap((child) => all(child, predicate))]

const decode = (text: string) =>
  text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&apos;/g, "'").replace(/&amp;/g, "&")

const texts = (root: Node, className?: string) =>
  all(root, (node) => node.name === "text" && (className === undefined || node.attributes["class"] === className)).map((node) => decode(node.text))

const run = (scenario: number, label: string, server: ChartRun["server"], rps: number, p99: number, extra: Partial<ChartRun> = {}): ChartRun => ({
  scenario,
  label,
  server,
  summary: { ok: rps > 0 ? 1000 : 0, requestsPerSecond: rps, latencyMs: { p99 } },
  ...extra
})

describe("the bench chart", () => {
  const get = "GET /api/v1/designs/{id} (cache hit)"
  const runs: ReadonlyArray<ChartRun> = [
    run(2, get, "api", 5000, 20, { round: 1, vsBaseline: 5000 / 8000 }),
    run(2, get, "baseline", 8000, 9, { round: 1 }),
    run(2, get, "api", 6100, 15, { round: 2, vsBaseline: 6100 / 8100 }),
    run(2, get, "baseline", 8100, 8.5, { round: 2 }),
    run(2, get, "api", 7000, 14, { round: 3, vsBaseline: 7000 / 7600 }),
    run(2, get, "baseline", 7600, 9.25, { round: 3 }),
    run(3, "GET /api/v1/designs?limit=20", "api", 941, 106),
    run(6, "POST /api/v1/auth/login (storm)", "api", 0, 0)
  ]
  const svg = benchChart(runs, { title: "Benchmark <quick> & co", subtitle: "npm run bench -- --quick" })
  const root = parseXml(svg)

  it("is well-formed SVG with an accessible title and description first", () => {
    expect(root.name).toBe("svg")
    expect(root.attributes["xmlns"]).toBe("http://www.w3.org/2000/svg")
    expect(root.attributes["role"]).toBe("img")
    expect(root.children[0]!.name).toBe("title")
    expect(decode(root.children[0]!.text)).toBe("Benchmark <quick> & co")
    expect(root.children[1]!.name).toBe("desc")
    expect(decode(root.children[1]!.text)).toContain("2 GET /api/v1/designs/{id} (cache hit): api 6100 req/s, p99 15.0 ms; baseline 8100 req/s, p99 8.5 ms.")
    expect(root.attributes["aria-labelledby"]).toBe(`${root.children[0]!.attributes["id"]} ${root.children[1]!.attributes["id"]}`)
  })

  it("has one row per scenario, the API beside the baseline of the median round, the API alone where there is no baseline", () => {
    expect(texts(root, "group-label")).toEqual([`2 ${get}`, "3 GET /api/v1/designs?limit=20", "6 POST /api/v1/auth/login (storm)"])
    // Two panels: scenario 2 has two bars in each, scenario 3 one, the storm (nothing succeeded) none.
    const bars = all(root, (node) => node.name === "rect" && node.attributes["class"] === "bar")
    expect(bars).toHaveLength(6)
    // The median round by API/baseline ratio is round 2 (76%), between 63% and 92%.
    expect(texts(root, "value")).toEqual(["6100", "8100", "941", "15.0", "8.5", "106"])
    expect(bars.map((bar) => decode(bar.children[0]!.text))).toContain("baseline (raw node:http), 2 GET /api/v1/designs/{id} (cache hit): 8.5 p99 latency, ms (less is better)")
    // Bars are drawn to scale within a panel.
    const width = (index: number) => Number(bars[index]!.attributes["width"])
    expect(width(0) / width(1)).toBeCloseTo(6100 / 8100, 2)
  })

  it("has a legend and labelled axes", () => {
    const all_ = texts(root)
    expect(all_).toEqual(expect.arrayContaining(["the API", "baseline (raw node:http)", "requests per second (more is better)", "p99 latency, ms (less is better)"]))
    expect(texts(root, "axis-label")).toHaveLength(2)
    expect(texts(root, "tick")).toEqual(["0", "2,000", "4,000", "6,000", "8,000", "10,000", "0", "50", "100", "150"])
  })
})

describe("the growth chart", () => {
  const flat = (y: number) => [{ x: 1e3, y }, { x: 1e5, y }, { x: 1e6, y }]
  const svg = logLineChart({
    title: "List p99 as the table grows",
    description: "flat is good",
    xLabel: "designs in the table (log scale)",
    yLabel: "p99 latency, ms",
    series: [
      { name: "one owner, first page", color: "#0072B2", points: flat(5) },
      { name: "one owner, deep page", color: "#E69F00", points: flat(5), dashed: true }
    ],
    formatX: (value) => value >= 1e6 ? `${value / 1e6}M` : `${value / 1e3}k`,
    formatY: (value) => value.toFixed(1)
  })
  const root = parseXml(svg)

  it("is well-formed SVG with a title, a point per measurement and a log x axis", () => {
    expect(root.name).toBe("svg")
    expect(decode(root.children[0]!.text)).toBe("List p99 as the table grows")
    expect(all(root, (node) => node.name === "circle")).toHaveLength(6)
    expect(all(root, (node) => node.name === "polyline")).toHaveLength(2)
    const ticks = all(root, (node) => node.name === "text" && ["1k", "10k", "100k", "1M"].includes(node.text))
    expect(ticks.map((tick) => tick.text)).toEqual(["1k", "10k", "100k", "1M"])
    const xs = ticks.map((tick) => Number(tick.attributes["x"]))
    // One power of ten, one step: equally spaced.
    expect(xs[1]! - xs[0]!).toBeCloseTo(xs[3]! - xs[2]!, 5)
    expect(texts(root, "axis-label")).toEqual(["designs in the table (log scale)", "p99 latency, ms"])
  })

  it("spreads the value labels of equal points apart instead of printing them on top of each other", () => {
    const labels = all(root, (node) => node.name === "text" && node.attributes["class"] === "value")
    const byX = new Map<string, Array<number>>()
    for (const label of labels) byX.set(label.attributes["x"]!, [...(byX.get(label.attributes["x"]!) ?? []), Number(label.attributes["y"])])
    for (const ys of byX.values()) expect(Math.abs(ys[0]! - ys[1]!)).toBeGreaterThanOrEqual(13)
  })
})

describe("a value that dwarfs the others", () => {
  it("is drawn broken and labelled off scale, so the other bars stay readable", () => {
    expect(scaleMaximum([10_000, 170, 50])).toBeCloseTo(195.5)
    expect(scaleMaximum([1_000, 170, 50])).toBe(1_000)
    expect(scaleMaximum([10_000, 170])).toBe(10_000)
    const root = parseXml(benchChart([
      run(3, "GET /api/v1/designs?limit=20", "api", 900, 110),
      run(4, "POST /api/v1/designs", "api", 700, 172),
      run(6, "POST /api/v1/auth/login (storm)", "api", 3, 9997)
    ], { title: "storm" }))
    expect(texts(root, "value")).toEqual(["900", "700", "3", "110", "172", "9997 (off scale)"])
    const bars = all(root, (node) => node.name === "rect" && node.attributes["class"] === "bar").map((bar) => Number(bar.attributes["width"]))
    // The axis ends at 200 ms: 172 ms takes most of the panel, the 10 s bar exactly all of it.
    expect(bars[4]! / bars[5]!).toBeCloseTo(172 / 200, 2)
  })
})

describe("niceTicks", () => {
  it("ends at or above the maximum in steps of 1, 2 or 5 times a power of ten", () => {
    expect(niceTicks(8100)).toEqual([0, 2000, 4000, 6000, 8000, 10000])
    expect(niceTicks(106)).toEqual([0, 50, 100, 150])
    expect(niceTicks(0.42)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    expect(niceTicks(0)).toEqual([0, 1])
  })
})

describe("the well-formedness check itself", () => {
  it("refuses what an SVG viewer refuses", () => {
    expect(() => parseXml("<svg><g></svg>")).toThrow()
    expect(() => parseXml("<svg><text>a < b</text></svg>")).toThrow()
    expect(() => parseXml("<svg><text>R&D</text></svg>")).toThrow()
    expect(() => parseXml("<svg x=1/>")).toThrow()
    expect(() => parseXml(`<svg x="1" x="2"/>`)).toThrow()
    expect(parseXml(`<svg x="1"><text>R&amp;D</text></svg>`).name).toBe("svg")
  })
})
