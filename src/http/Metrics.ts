import { createHash, timingSafeEqual } from "node:crypto"
import { Effect, Metric, Option, Redacted } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { JobQueue } from "../capabilities/queue/JobQueue.ts"
import { AppConfig } from "../config/AppConfig.ts"

export const httpRequests = Metric.counter("http_requests_total", {
  description: "HTTP requests by route template, method and status",
  incremental: true
})

export const httpDuration = Metric.histogram("http_request_duration_seconds", {
  description: "HTTP request latency by route template, method and status",
  boundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})

export const queueDepth = Metric.gauge("job_queue_depth", { description: "Jobs waiting in the queue" })

/**
 * The request metrics of one series, made once: labelling a metric per request was a measurable
 * share of a cached read. Series are bounded (route templates, never raw paths; the methods
 * Node's parser accepts; statuses), and so is this map.
 */
const series = new Map<string, { readonly count: Metric.Counter<number>; readonly duration: Metric.Histogram<number> }>()

/** Counts and times one request under its route template (never the raw path: bounded series). */
export const recordRequest = (labels: { readonly route: string; readonly method: string; readonly status: number }, seconds: number) => {
  const key = `${labels.method} ${labels.status} ${labels.route}`
  let metrics = series.get(key)
  if (metrics === undefined) {
    const attributes = { route: labels.route, method: labels.method, status: String(labels.status) }
    metrics = { count: Metric.withAttributes(httpRequests, attributes), duration: Metric.withAttributes(httpDuration, attributes) }
    series.set(key, metrics)
  }
  return Effect.andThen(Metric.update(metrics.count, 1), Metric.update(metrics.duration, seconds))
}

const isLoopback = (address: string) =>
  address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1" || address.startsWith("127.")

const digest = (value: string) => createHash("sha256").update(value).digest()
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b))

/** The route served here, for the route table (405 detection and the route inventory). */
export const routes = [{ method: "GET", path: "/metrics" }] as const

/**
 * GET /metrics in Prometheus text format (process, HTTP and queue metrics). With METRICS_TOKEN
 * it needs `Authorization: Bearer <token>`; without, only loopback callers (a sidecar, a
 * port-forward) may read it, and in production nobody: behind a proxy on the same host every
 * caller is loopback.
 */
export const route = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const { metricsToken, nodeEnv } = yield* AppConfig
  const loopbackAllowed = nodeEnv !== "production"
  if (!loopbackAllowed && Option.isNone(metricsToken)) {
    yield* Effect.logWarning("metrics: METRICS_TOKEN is not set, so GET /metrics refuses every caller")
  }
  const queue = yield* JobQueue
  yield* router.add("GET", "/metrics", Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const allowed = Option.match(metricsToken, {
      onNone: () => loopbackAllowed && Option.match(request.remoteAddress, { onNone: () => true, onSome: isLoopback }),
      onSome: (token) => sameSecret(request.headers["authorization"] ?? "", `Bearer ${Redacted.value(token)}`)
    })
    if (!allowed) return HttpServerResponse.empty({ status: 403 })
    yield* queue.depth.pipe(
      Effect.flatMap((depth) => Metric.update(queueDepth, depth)),
      Effect.catch((error) => Effect.logWarning("metrics: queue depth unavailable", error.cause))
    )
    const body = yield* PrometheusMetrics.format()
    return HttpServerResponse.text(body, { contentType: "text/plain; version=0.0.4; charset=utf-8" })
  }))
}))
