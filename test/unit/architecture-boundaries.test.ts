import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..")

/**
 * No module under `from` may import, directly or through the modules it imports, a module under
 * one of `mustNotImport`: a folder of this repository (`src/api`) or a package (`effect/http`);
 * a trailing `*` matches any continuation (`effect/http*` is also `effect/http-api`).
 */
interface Rule {
  readonly from: string
  readonly mustNotImport: ReadonlyArray<string>
}

/** Arrows point down (docs/decisions/0013-composition.md): nothing imports a layer above it. */
const rules: ReadonlyArray<Rule> = [
  // Entities, value objects and rules: no infrastructure, no transport.
  {
    from: "src/domain",
    mustNotImport: ["src/api", "src/http", "src/capabilities", "src/features", "src/app", "src/config", "effect/http*", "effect/sql*"]
  },
  // A capability knows no HTTP and no feature: the HTTP layer and the features build on it.
  { from: "src/capabilities", mustNotImport: ["src/api", "src/http", "src/features", "src/app", "effect/http*"] },
  // The HTTP kit serves any feature and names none.
  { from: "src/http", mustNotImport: ["src/features", "src/app"] },
  // Features are composed by the root, never the other way round.
  { from: "src/features", mustNotImport: ["src/app"] },
  { from: "src/config", mustNotImport: ["src/api", "src/http", "src/capabilities", "src/features", "src/app"] },
  { from: "src/observability", mustNotImport: ["src/api", "src/http", "src/features", "src/app"] },
  // The client package runs in browsers and workers: the contract and effect only, no server, no Node.
  {
    from: "src/client",
    mustNotImport: ["src/http", "src/capabilities", "src/features", "src/app", "src/config", "src/observability", "node:*", "effect/sql*"]
  }
]

const importPattern =
  /(?:import|export)\s[^"']*?from\s*["']([^"']+)["']|import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g

/** Relative imports as paths from the repository root, packages as written. */
const importsOf = (file: string): ReadonlyArray<string> =>
  [...readFileSync(resolve(root, file), "utf8").matchAll(importPattern)].map((match) => {
    const specifier = (match[1] ?? match[2] ?? match[3])!
    return specifier.startsWith(".") ? relative(root, resolve(root, dirname(file), specifier)) : specifier
  })

const modulesUnder = (folder: string): ReadonlyArray<string> =>
  readdirSync(resolve(root, folder), { recursive: true, encoding: "utf8" })
    .filter((path) => path.endsWith(".ts"))
    .map((path) => join(folder, path))
    .sort()

const matches = (target: string, pattern: string) =>
  pattern.endsWith("*") ? target.startsWith(pattern.slice(0, -1)) : target === pattern || target.startsWith(`${pattern}/`)

/**
 * The rule's forbidden imports reachable from `entry`, each as the chain of imports leading to it.
 * The walk does not enter the rule's other modules: each of them is checked on its own.
 */
const violationsFrom = (entry: string, rule: Rule): ReadonlyArray<string> => {
  const found: Array<string> = []
  const seen = new Set<string>([entry])
  const walk = (chain: ReadonlyArray<string>) => {
    for (const target of importsOf(chain.at(-1)!)) {
      if (rule.mustNotImport.some((pattern) => matches(target, pattern))) found.push([...chain, target].join(" → "))
      else if (target.startsWith("src/") && !matches(target, rule.from) && !seen.has(target)) {
        seen.add(target)
        walk([...chain, target])
      }
    }
  }
  walk([entry])
  return found
}

/** The feature folders each feature folder imports from. */
const featureGraph = (): ReadonlyMap<string, ReadonlySet<string>> => {
  const graph = new Map<string, Set<string>>()
  for (const module of modulesUnder("src/features")) {
    const feature = module.split("/")[2]!
    const uses = graph.get(feature) ?? new Set<string>()
    graph.set(feature, uses)
    for (const target of importsOf(module)) {
      const used = /^src\/features\/([^/]+)\//.exec(target)?.[1]
      if (used !== undefined && used !== feature) uses.add(used)
    }
  }
  return graph
}

/** Every cycle between feature folders, each as `a → b → a`. */
const cyclesOf = (graph: ReadonlyMap<string, ReadonlySet<string>>): ReadonlyArray<string> => {
  const cycles: Array<string> = []
  const walk = (path: ReadonlyArray<string>) => {
    for (const next of graph.get(path.at(-1)!) ?? []) {
      if (next === path[0]) cycles.push([...path, next].join(" → "))
      else if (!path.includes(next) && next > path[0]!) walk([...path, next])
    }
  }
  for (const feature of [...graph.keys()].sort()) walk([feature])
  return cycles
}

describe("architecture boundaries", () => {
  it("no feature folder imports one that imports it, however indirectly (a lower feature declares a port instead)", () => {
    const graph = featureGraph()
    expect(graph.size).toBeGreaterThan(5)
    expect(cyclesOf(graph)).toEqual([])
    expect(cyclesOf(new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])]]))).toEqual(["a → b → c → a"])
  })


  it("sees multi-line and dynamic imports", () => {
    expect(importsOf("src/capabilities/ai/LanguageModel.ts")).toContain("src/domain/Ai.ts")
    expect(importsOf("src/capabilities/database/EmbeddedPostgres.ts")).toContain("@electric-sql/pglite-socket")
  })

  for (const rule of rules) {
    it(`${rule.from} imports nothing from ${rule.mustNotImport.join(", ")}`, () => {
      const modules = modulesUnder(rule.from)
      expect(modules.length).toBeGreaterThan(1)
      expect(modules.flatMap((module) => violationsFrom(module, rule))).toEqual([])
    })
  }
})
