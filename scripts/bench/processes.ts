/**
 * Server processes under test: spawning, readiness, memory and CPU sampling from /proc, and
 * the clean-up of everything the bench started, on success, failure or a signal.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"

/** Clean-up actions, run newest first; `runSync` is the last resort from an `exit` handler. */
export class Cleanup {
  private readonly actions: Array<{ readonly name: string; readonly run: () => void | Promise<void>; readonly sync?: () => void }> = []
  private running: Promise<void> | undefined

  add(name: string, run: () => void | Promise<void>, sync?: () => void) {
    this.actions.push(sync === undefined ? { name, run } : { name, run, sync })
  }

  /** Runs every action once, newest first; a failing action does not stop the others. */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (this.actions.length > 0) {
        const action = this.actions.pop()!
        try {
          await action.run()
        } catch (error) {
          console.error(`bench: clean-up of ${action.name} failed: ${error instanceof Error ? error.message : String(error)}`)
        }
      }
    })()
    return this.running
  }

  /** From `process.on("exit")`: only synchronous work is possible there. */
  runSync() {
    while (this.actions.length > 0) {
      const action = this.actions.pop()!
      try {
        if (action.sync !== undefined) action.sync()
        else void action.run()
      } catch {
        // best effort
      }
    }
  }
}

/** VmRSS and VmHWM of a process, in KiB; undefined once it is gone. */
export const memoryOf = (pid: number): { readonly rssKiB: number; readonly hwmKiB: number } | undefined => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? "0")
    return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") }
  } catch {
    return undefined
  }
}

/** user + system CPU time of a process, in clock ticks (usually 100 per second). */
export const cpuTicksOf = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return undefined
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Waits until the process is (nearly) idle: less than `maxBusy` of one core over a 500 ms
 * window, so that work left over from the previous scenario (an abandoned login's bcrypt, a
 * garbage collection) does not leak into the next one. Returns how long it waited.
 */
export const settle = async (pids: ReadonlyArray<number>, options: { readonly maxWaitMs: number; readonly maxBusy?: number }) => {
  const started = performance.now()
  const window = 500
  const limitTicks = (options.maxBusy ?? 0.1) * 100 * (window / 1000)
  for (;;) {
    const before = pids.map(cpuTicksOf)
    await sleep(window)
    const after = pids.map(cpuTicksOf)
    const busiest = Math.max(0, ...after.map((ticks, i) => ticks === undefined || before[i] === undefined ? 0 : ticks - before[i]))
    const waited = performance.now() - started
    if (busiest <= limitTicks || waited > options.maxWaitMs) return waited
  }
}

/** Polls VmRSS every `intervalMs` while a scenario runs; the peak is what the report shows. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined
  private peak = 0
  private last = 0
  readonly series: Array<{ readonly atMs: number; readonly rssKiB: number }> = []
  private readonly started = performance.now()
  private readonly pid: number

  /** `keepSeriesEveryMs > 0` also keeps a time series (for the soak). */
  constructor(pid: number, intervalMs = 100, keepSeriesEveryMs = 0) {
    this.pid = pid
    let lastKept = Number.NEGATIVE_INFINITY
    const sample = () => {
      const memory = memoryOf(this.pid)
      if (memory === undefined) return
      this.last = memory.rssKiB
      this.peak = Math.max(this.peak, memory.rssKiB)
      const at = performance.now() - this.started
      if (keepSeriesEveryMs > 0 && at - lastKept >= keepSeriesEveryMs) {
        lastKept = at
        this.series.push({ atMs: Math.round(at), rssKiB: memory.rssKiB })
      }
    }
    sample()
    this.timer = setInterval(sample, intervalMs)
    this.timer.unref()
  }

  stop(): { readonly peakKiB: number; readonly lastKiB: number } {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    const memory = memoryOf(this.pid)
    if (memory !== undefined) {
      this.last = memory.rssKiB
      this.peak = Math.max(this.peak, memory.rssKiB)
    }
    return { peakKiB: this.peak, lastKiB: this.last }
  }
}

export interface ServerProcess {
  readonly name: string
  readonly pid: number
  readonly url: string
  readonly alive: () => boolean
  /** The last lines the process printed, for a failure report. */
  readonly output: () => string
  /** SIGTERM, then SIGKILL after `graceMs`. */
  readonly stop: (graceMs?: number) => Promise<void>
}

const OUTPUT_KEPT = 16 * 1024

/**
 * Spawns `node <args>` with exactly `env` (plus PATH), waits until `GET <readyPath>` answers
 * 200, and registers its clean-up. Output is kept (the tail) for a failure report.
 */
export const startNodeServer = async (options: {
  readonly name: string
  readonly args: ReadonlyArray<string>
  readonly env: Record<string, string>
  readonly host: string
  readonly port: number
  readonly readyPath: string
  readonly timeoutMs: number
  readonly cleanup: Cleanup
}): Promise<ServerProcess> => {
  let output = ""
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_KEPT)
  }
  const child: ChildProcess = spawn(process.execPath, [...options.args], {
    env: { PATH: process.env["PATH"] ?? "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const alive = () => child.exitCode === null && child.signalCode === null
  const stop = async (graceMs = 15_000) => {
    if (!alive()) return
    child.kill("SIGTERM")
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
    await exited
    clearTimeout(timer)
  }
  options.cleanup.add(options.name, () => stop(), () => {
    if (alive()) child.kill("SIGKILL")
  })
  if (child.pid === undefined) throw new Error(`${options.name}: could not spawn ${process.execPath}`)
  const url = `http://${options.host}:${options.port}`
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    if (!alive()) {
      throw new Error(`${options.name} exited with ${child.exitCode ?? child.signalCode} before it was ready:\n${output}`)
    }
    const ready = await fetch(`${url}${options.readyPath}`, { signal: AbortSignal.timeout(2_000) }).then(
      async (response) => {
        await response.arrayBuffer()
        return response.status === 200
      },
      () => false
    )
    if (ready) break
    if (Date.now() > deadline) {
      await stop(2_000)
      throw new Error(`${options.name} did not answer GET ${options.readyPath} with 200 within ${options.timeoutMs} ms:\n${output}`)
    }
    await sleep(50)
  }
  return { name: options.name, pid: child.pid, url, alive, output: () => output, stop }
}

interface ProcessTicks {
  readonly ppid: number
  readonly ticks: number
}

const processTable = (): Map<number, ProcessTicks> => {
  const table = new Map<number, ProcessTicks>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      table.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) })
    } catch {
      // gone meanwhile
    }
  }
  return table
}

const machineTicks = () => {
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] =
    readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = user + nice + system + idle + iowait + irq + softirq + steal
  return { total, busy: total - idle - iowait, steal }
}

/** The postmaster listening on `port` (its command line names the port), if it runs here. */
export const postmasterPid = (port: number): number | undefined => {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")
      if (args[0]?.endsWith("/postgres") && args.includes("-p") && args[args.indexOf("-p") + 1] === String(port)) return Number(entry)
    } catch {
      // gone meanwhile
    }
  }
  return undefined
}

/**
 * How much of the machine's CPU went to processes outside the bench (this process and its
 * children, the servers, the throwaway PostgreSQL) while a scenario ran: other work on a shared
 * machine (or the hypervisor's steal) skews the numbers, and this says by how much.
 */
export class ForeignCpu {
  private readonly roots: ReadonlyArray<number>
  private readonly machine = machineTicks()
  private readonly before = processTable()

  constructor(roots: ReadonlyArray<number>) {
    this.roots = roots
  }

  /** Shares of the machine's capacity over the interval, in percent. */
  stop(): { readonly otherPercent: number; readonly stealPercent: number } {
    const machine = machineTicks()
    const after = processTable()
    const ours = new Set(this.roots.filter((pid) => after.has(pid)))
    for (let grew = true; grew;) {
      grew = false
      for (const [pid, { ppid }] of after) {
        if (!ours.has(pid) && ours.has(ppid)) {
          ours.add(pid)
          grew = true
        }
      }
    }
    let ourTicks = 0
    for (const pid of ours) ourTicks += after.get(pid)!.ticks - (this.before.get(pid)?.ticks ?? 0)
    const total = Math.max(1, machine.total - this.machine.total)
    const other = Math.max(0, machine.busy - this.machine.busy - ourTicks)
    return {
      otherPercent: Math.round((other / total) * 1000) / 10,
      stealPercent: Math.round(((machine.steal - this.machine.steal) / total) * 1000) / 10
    }
  }
}

/** A bench script's main: a failure is logged and sets the exit code; everything it started is stopped either way. */
export const runBenchScript = async (main: () => Promise<void>, cleanup: Cleanup, log: (message: string) => void) => {
  try {
    await main()
  } catch (error) {
    log(`FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exitCode = 1
  } finally {
    log("stopping the servers")
    await cleanup.run()
  }
}
