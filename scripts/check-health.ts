/**
 * `npm run check-health [-- URL]`: asks a running API for GET /health (default
 * http://127.0.0.1:$PORT/health) and exits 0 when healthy or degraded, 1 otherwise.
 * Used as the container health check.
 */
const url = process.argv[2] ?? `http://127.0.0.1:${process.env["PORT"] ?? "3000"}/health`

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) })
  const body = await response.text()
  console.log(`${response.status} ${body}`)
  process.exitCode = response.status === 200 ? 0 : 1
} catch (error) {
  console.error(`${url}: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
