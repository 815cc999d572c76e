import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { promisify } from "node:util"
import { expect, it } from "vitest"
import { isOptionalSdk, recordPackages } from "../support/packages.ts"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const staticImport = /(?:import|export)\s[^"']*?from\s*["']([^"']+)["']/g

/** What the entry points import; not the entry points themselves, which start a process when imported. */
const entryPointImports = ["src/main.ts", "src/worker.ts"].flatMap((entry) =>
  [...readFileSync(resolve(root, entry), "utf8").matchAll(staticImport)]
    .map((match) => match[1]!)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => pathToFileURL(resolve(root, dirname(entry), specifier)).href)
)

it("the server and the worker import none of the optional SDKs at start-up (each layer imports its own when built)", async () => {
  expect(entryPointImports.length).toBeGreaterThan(3)
  const record = recordPackages()
  try {
    await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "-e", `for (const url of ${JSON.stringify([...new Set(entryPointImports)])}) await import(url)`],
      { cwd: root, env: { PATH: process.env["PATH"] ?? "", ...record.env }, timeout: 20_000 }
    )
    const loaded = record.packages()
    // The recording works: the drivers these modules import statically are there.
    expect(loaded).toEqual(expect.arrayContaining(["effect", "@effect/sql-pg", "ioredis"]))
    expect(loaded.filter(isOptionalSdk)).toEqual([])
  } finally {
    record.remove()
  }
})
