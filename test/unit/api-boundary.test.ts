import { readFileSync } from "node:fs"
import { dirname, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { expect, it } from "vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")
const importPattern = /(?:import|export)\s[^"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

/** Every module reachable from `entry` through its imports. */
const reachable = (entry: string) => {
  const files = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (files.has(file)) return
    files.add(file)
    for (const match of readFileSync(file, "utf8").matchAll(importPattern)) {
      const specifier = match[1] ?? match[2]!
      if (specifier.startsWith(".")) visit(resolve(dirname(file), specifier))
      else packages.add(specifier)
    }
  }
  visit(entry)
  return { files: [...files].map((f) => relative(root, f)), packages: [...packages] }
}

it("the HttpApi definition imports only definitions, domain and effect, so clients can import it", () => {
  const { files, packages } = reachable(resolve(root, "src/api/Api.ts"))
  expect(files.length).toBeGreaterThan(1)
  expect(files.filter((f) => !/^src\/(api|domain)\//.test(f))).toEqual([])
  expect(packages.filter((p) => p !== "effect" && !p.startsWith("effect/"))).toEqual([])
})

it("the client package imports only itself, the contract, the domain and effect, so browsers and workers can run it", () => {
  const { files, packages } = reachable(resolve(root, "src/client/CoreClient.ts"))
  expect(files).toContain("src/client/Tokens.ts")
  expect(files.filter((f) => !/^src\/(api|domain|client)\//.test(f))).toEqual([])
  expect(packages.filter((p) => p !== "effect" && !p.startsWith("effect/"))).toEqual([])
})
