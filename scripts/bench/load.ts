/**
 * A typed wrapper over autocannon's programmatic API (autocannon ships no types). Runs in the
 * bench process; the servers under test run in their own processes. Latencies are recorded here
 * from autocannon's per-response event, in fractional milliseconds, instead of autocannon's
 * whole-millisecond histogram: sub-millisecond endpoints would otherwise all read "1 ms".
 */
import { createRequire } from "node:module"

/** The request autocannon builds from; `setupRequest` returns a changed copy. */
export interface AutocannonRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string | Buffer
}

export type Context = Record<string, unknown>

export interface RequestSpec extends AutocannonRequest {
  setupRequest?: (request: AutocannonRequest, context: Context) => AutocannonRequest
  onResponse?: (status: number, body: string, context: Context, headers: Record<string, unknown>) => void
}

/** What autocannon's `setupClient` hook may change on one connection. */
export interface AutocannonClient {
  setBody(body: string | Buffer): void
}

interface AutocannonOptions {
  url: string
  setupClient?: (client: AutocannonClient) => void
  connections: number
  duration: number
  timeout: number
  requests: ReadonlyArray<RequestSpec>
  title?: string
}

interface AutocannonResult {
  readonly duration: number
  readonly errors: number
  readonly timeouts: number
  readonly non2xx: number
  readonly "2xx": number
  readonly statusCodeStats: Record<string, { readonly count: number }>
  readonly requests: { readonly total: number; readonly sent: number }
}

interface AutocannonInstance {
  on(event: "response", listener: (client: unknown, status: number, bytes: number, responseTime: number) => void): void
  on(event: "reqError", listener: (error: Error) => void): void
  stop(): void
}

type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  readonly durationSeconds: number
  /** Per-request timeout; a timed-out request counts as an error. */
  readonly timeoutSeconds?: number
  readonly requests: ReadonlyArray<RequestSpec>
  /** Called once per connection, e.g. to give each its own body. */
  readonly setupClient?: (client: AutocannonClient) => void
  readonly title?: string
}

export interface LoadSummary {
  readonly title: string
  readonly connections: number
  readonly durationSeconds: number
  /** Responses received (any status). */
  readonly responses: number
  readonly ok: number
  /** 2xx responses per second: what the goals compare. */
  readonly requestsPerSecond: number
  /** Latency of 2xx responses, milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly mean: number; readonly max: number }
  readonly non2xx: number
  /** Connection errors and timeouts (autocannon counts a timeout as an error too). */
  readonly errors: number
  readonly timeouts: number
  readonly statusCodes: Record<string, number>
  /** A few distinct error messages, for the report. */
  readonly errorSamples: ReadonlyArray<string>
}

/** Growable list of float samples without per-sample allocation. */
class Samples {
  private data = new Float64Array(1 << 14)
  length = 0
  push(value: number) {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2)
      bigger.set(this.data)
      this.data = bigger
    }
    this.data[this.length++] = value
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort()
  }
}

const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits

export interface RunningLoad {
  readonly done: Promise<LoadSummary>
  readonly stop: () => void
}

/** Starts one autocannon instance; `done` resolves with its summary when the duration ends. */
export const startLoad = (options: LoadOptions): RunningLoad => {
  const latencies = new Samples()
  const errorSamples = new Set<string>()
  let instance: AutocannonInstance | undefined
  const done = new Promise<LoadSummary>((resolve, reject) => {
    instance = autocannon({
      url: options.url,
      connections: options.connections,
      duration: options.durationSeconds,
      timeout: options.timeoutSeconds ?? 10,
      requests: options.requests,
      ...(options.setupClient === undefined ? {} : { setupClient: options.setupClient }),
      ...(options.title === undefined ? {} : { title: options.title })
    }, (error, result) => {
      if (error !== null) return reject(error)
      const sorted = latencies.sorted()
      const sum = sorted.reduce((acc, value) => acc + value, 0)
      const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]))
      resolve({
        title: options.title ?? options.url,
        connections: options.connections,
        durationSeconds: result.duration,
        responses: result.requests.total,
        ok: result["2xx"],
        requestsPerSecond: round(result["2xx"] / Math.max(result.duration, 0.001), 1),
        latencyMs: {
          p50: round(percentile(sorted, 50)),
          p90: round(percentile(sorted, 90)),
          p99: round(percentile(sorted, 99)),
          mean: round(sorted.length === 0 ? 0 : sum / sorted.length),
          max: round(sorted.length === 0 ? 0 : sorted[sorted.length - 1]!)
        },
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes,
        errorSamples: [...errorSamples]
      })
    })
    instance.on("response", (_client, status, _bytes, responseTime) => {
      if (status >= 200 && status < 300) latencies.push(responseTime)
    })
    instance.on("reqError", (error) => {
      if (errorSamples.size < 5) errorSamples.add(error.message)
    })
  })
  return { done, stop: () => instance?.stop() }
}

export const runLoad = (options: LoadOptions): Promise<LoadSummary> => startLoad(options).done
