/**
 * `npm run lint:openapi`: generates the OpenAPI document (the one GET /openapi.json serves) into
 * a temporary folder and lints it with Spectral (`.spectral.yaml`: `spectral:oas` and the OWASP
 * API Security ruleset) and with Redocly (`redocly.yaml`). Both always run; the exit code is 1
 * when either reports an error. Warnings are printed but do not fail.
 *
 * Offline: the rulesets are resolved from node_modules, and Redocly's telemetry and update
 * check are off (`redocly.yaml`, environment below).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const bin = (name: string) => join(root, "node_modules", ".bin", name)

/** Runs a Node script on this Node (24), whatever `node` is first on PATH. */
const run = (title: string, script: string, args: ReadonlyArray<string>) => {
  console.log(`\n== ${title}`)
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      REDOCLY_TELEMETRY: "off",
      REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
      REDOCLY_SUPPRESS_NOTIFICATIONS: "true"
    }
  })
  if (result.error !== undefined) throw result.error
  return result.status === 0
}

const folder = mkdtempSync(join(tmpdir(), "customify-openapi-"))
try {
  const file = join(folder, "openapi.json")
  if (!run("generate the OpenAPI document", join(root, "scripts", "openapi.ts"), [file])) {
    throw new Error("could not generate the OpenAPI document")
  }
  const spectral = run("spectral lint (spectral:oas + OWASP API Security)", bin("spectral"), [
    "lint",
    file,
    "--ruleset",
    join(root, ".spectral.yaml"),
    "--fail-severity",
    "error",
    "--format",
    "stylish"
  ])
  const redocly = run("redocly lint (recommended)", bin("redocly"), [
    "lint",
    file,
    "--config",
    join(root, "redocly.yaml"),
    "--format",
    "stylish"
  ])
  if (!spectral || !redocly) {
    console.error(`\nOpenAPI lint failed:${spectral ? "" : " spectral"}${redocly ? "" : " redocly"}`)
    process.exitCode = 1
  } else {
    console.log("\nOpenAPI lint passed (no errors)")
  }
} finally {
  rmSync(folder, { recursive: true, force: true })
}
