/**
 * `node scripts/bench/profile.ts <file.cpuprofile> [fromSecond toSecond]`: a text summary of a V8
 * CPU profile, such as the API's from `node scripts/bench.ts --cpu-prof --scenarios 2`.
 *
 * Prints how busy the main thread was each second (to pick the window of one scenario), then
 * for the window: time by package or file, by function (self), and the heaviest call paths
 * (inclusive), skipping the runtime's own frames.
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, fromArg, toArg] = process.argv.slice(2)
if (file === undefined) {
  console.error("usage: node scripts/bench/profile.ts <file.cpuprofile> [fromSecond toSecond]")
  process.exit(64)
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const from = Number(fromArg ?? 0) * 1e6
const to = Number(toArg ?? Number.POSITIVE_INFINITY) * 1e6

const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

const shorten = (url: string) => url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(src|scripts|test)\//, "$1/")
const frame = (node: ProfileNode) => `${node.callFrame.functionName || "(anonymous)"} ${shorten(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`
const packageOf = (node: ProfileNode) => {
  const url = node.callFrame.url
  if (url === "") return node.callFrame.functionName
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?:dist\/)?([^/]+)?/.exec(url)
  if (inModules !== null) return inModules[1] === "effect" ? `effect/${inModules[2] ?? ""}` : inModules[1]!
  return shorten(url)
}
const isIdle = (node: ProfileNode) => node.callFrame.functionName === "(idle)"

const selfTime = new Map<number, number>()
const busyBySecond = new Map<number, number>()
let at = 0
let total = 0
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0
  at += delta
  const node = byId.get(id)!
  if (!isIdle(node)) busyBySecond.set(Math.floor(at / 1e6), (busyBySecond.get(Math.floor(at / 1e6)) ?? 0) + delta)
  if (at < from || at > to) return
  selfTime.set(id, (selfTime.get(id) ?? 0) + delta)
  total += delta
})

const top = (totals: Map<string, number>, count: number) =>
  [...totals].sort((a, b) => b[1] - a[1]).slice(0, count).map(([name, time]) => `${((time / total) * 100).toFixed(1).padStart(5)}%  ${name}`)

const grouped = (key: (node: ProfileNode) => string) => {
  const totals = new Map<string, number>()
  for (const [id, time] of selfTime) {
    const name = key(byId.get(id)!)
    totals.set(name, (totals.get(name) ?? 0) + time)
  }
  return totals
}

const inclusive = new Map<string, number>()
for (const [id, time] of selfTime) {
  const seen = new Set<string>()
  for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
    const name = frame(byId.get(current)!)
    if (seen.has(name)) continue
    seen.add(name)
    inclusive.set(name, (inclusive.get(name) ?? 0) + time)
  }
}
const interesting = new Map([...inclusive].filter(([name]) => !/^\((root|program|idle|garbage collector)\)|^(processTicksAndRejections|runMicrotasks|runInAsyncScope|emit) /.test(name)))

console.log("main thread busy per second of the profile:")
console.log([...busyBySecond].map(([second, time]) => `${second}s:${Math.round(time / 1e4)}%`).join(" "))
console.log(`\nwindow ${from / 1e6}s to ${Number.isFinite(to) ? `${to / 1e6}s` : "end"}: ${(total / 1e3).toFixed(0)} ms sampled`)
console.log("\nself time by package or file:")
console.log(top(grouped(packageOf), 25).join("\n"))
console.log("\nself time by function:")
console.log(top(grouped(frame), 30).join("\n"))
console.log("\ninclusive time (the heaviest paths):")
console.log(top(interesting, 60).join("\n"))
