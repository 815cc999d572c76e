/**
 * The documentation pages in a real browser: /docs (Swagger UI) and /redoc ship a hash-based
 * Content-Security-Policy, and a wrong hash or an asset the policy forgot turns a page blank
 * while every HTTP test still sees a 200. Debian's chromium, driven by playwright-core (which
 * downloads nothing), loads both pages from a real server process and must see the operations
 * rendered, no CSP violation, no console error and no failed asset. With CI set, a missing
 * chromium fails the test; elsewhere it is skipped with a note.
 */
import type { ChildProcess } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { type BrowserContext, chromium } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { startServer } from "../support/process.ts"
import { freePort } from "../support/servers.ts"

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium"
const available = existsSync(CHROMIUM)
const inCi = process.env["CI"] !== undefined && process.env["CI"] !== "" && process.env["CI"] !== "false"
if (!available && !inCi) console.warn(`docs-browser: skipped, no chromium at ${CHROMIUM} (apt-get install chromium)`)

/** The machine's network is closed: no background fetches, no first-run, a fresh profile. */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

/**
 * What a browser meets on these pages that is not the page's fault, and only that:
 * - `/favicon.ico`, which Chromium asks for by itself (the API serves no icon: a 404);
 * - ReDoc's sidebar credit, whose logo ReDoc always loads from its CDN: the CSP blocks it on
 *   purpose (the docs make no third-party request) and ReDoc hides the image when it fails.
 */
const EXPECTED_NOISE = [/\/favicon\.ico\b/u, /https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini\.svg/u]
const isNoise = (line: string) => EXPECTED_NOISE.some((pattern) => pattern.test(line))

interface PageReport {
  readonly violations: ReadonlyArray<string>
  readonly consoleErrors: ReadonlyArray<string>
  readonly failedRequests: ReadonlyArray<string>
  readonly badResponses: ReadonlyArray<string>
  readonly scripts: ReadonlyArray<string>
}

describe.skipIf(!available && !inCi)("the documentation pages in a real browser", () => {
  const scope = Effect.runSync(Scope.make())
  let server: ChildProcess | undefined
  let context: BrowserContext | undefined
  let profile: string | undefined
  let base: string
  let summaries: ReadonlyArray<string>

  beforeAll(async () => {
    if (!available) throw new Error(`CI is set and there is no chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`)
    const serverUrl = realDatabaseUrl()
    const redisUrl = realRedisUrl()
    if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
    const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
    const port = await freePort()
    const started = startServer({ PORT: String(port), DATABASE_URL: databaseUrl, REDIS_URL: redisUrl })
    server = started.child
    await started.listening
    base = `http://127.0.0.1:${port}`
    const document = await (await fetch(`${base}/openapi.json`)).json() as {
      paths: Record<string, Record<string, { summary?: string }>>
    }
    summaries = [document.paths["/api/v1/designs"]?.["get"]?.summary, document.paths["/api/v1/auth/login"]?.["post"]?.summary]
      .filter((summary): summary is string => summary !== undefined)
    expect(summaries).toHaveLength(2)
    profile = mkdtempSync(join(tmpdir(), "customify-chromium-"))
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  }, 90_000)

  afterAll(async () => {
    await context?.close()
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true })
    server?.kill("SIGKILL")
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  /** Loads `path` and waits until every text in `expected` is visible; reports what went wrong on the way. */
  const load = async (path: string, expected: ReadonlyArray<string>): Promise<PageReport> => {
    const page = await context!.newPage()
    const report = { violations: [] as Array<string>, consoleErrors: [] as Array<string>, failedRequests: [] as Array<string>, badResponses: [] as Array<string>, scripts: [] as Array<string> }
    // Injected by the DevTools protocol, before the page's own scripts and outside its CSP.
    await page.addInitScript({
      content: `
        Object.defineProperty(window, "__cspViolations", { value: [] });
        document.addEventListener("securitypolicyviolation", (event) => window.__cspViolations.push(
          event.effectiveDirective + " blocked " + (event.blockedURI || "inline") + " (" + event.sourceFile + ":" + event.lineNumber + ")"));`
    })
    page.on("console", (message) => {
      if (message.type() === "error") report.consoleErrors.push(`${message.text()} (${message.location().url})`)
    })
    page.on("pageerror", (error) => report.consoleErrors.push(`uncaught: ${error.message}`))
    page.on("requestfailed", (request) => report.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`))
    page.on("response", (response) => {
      if (response.status() >= 400) report.badResponses.push(`${response.status()} ${response.url()}`)
      if (response.request().resourceType() === "script") report.scripts.push(new URL(response.url()).pathname)
    })
    try {
      const response = await page.goto(`${base}${path}`, { waitUntil: "load" })
      expect(response?.status()).toBe(200)
      expect(response?.headers()["content-security-policy"]).toMatch(path === "/docs" ? /script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'/ : /script-src 'self'/)
      for (const text of expected) {
        await page.getByText(text, { exact: true }).filter({ visible: true }).first().waitFor({ state: "visible", timeout: 20_000 }).catch((error: unknown) => {
          // A blank page: say why (a blocked script shows up as a console error).
          throw new Error(`${path}: "${text}" never showed (${String(error).split("\n")[0]}); console errors: ${JSON.stringify(report.consoleErrors)}`)
        })
      }
      await page.waitForLoadState("networkidle")
      report.violations.push(...await page.evaluate<Array<string>>("window.__cspViolations"))
    } finally {
      await page.close()
    }
    return {
      violations: report.violations.filter((line) => !isNoise(line)),
      consoleErrors: report.consoleErrors.filter((line) => !isNoise(line)),
      failedRequests: report.failedRequests.filter((line) => !isNoise(line)),
      badResponses: report.badResponses.filter((line) => !isNoise(line)),
      scripts: report.scripts
    }
  }

  const clean = { violations: [], consoleErrors: [], failedRequests: [], badResponses: [] }

  it("renders the operations of Swagger UI at /docs under its CSP, with no violation, console error or failed asset", async () => {
    const { scripts, ...problems } = await load("/docs", summaries)
    expect(problems).toEqual(clean)
    // Swagger UI is inlined in the page: it runs only because the policy names its hash.
    expect(scripts).toEqual([])
  }, 90_000)

  it("renders the operations of ReDoc at /redoc under its CSP, with no violation, console error or failed asset", async () => {
    const { scripts, ...problems } = await load("/redoc", summaries)
    expect(problems).toEqual(clean)
    expect(scripts).toContain("/redoc/redoc.standalone.js")
  }, 90_000)
})
