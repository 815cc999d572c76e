/**
 * `node --import ./test/support/record-packages.ts ...`: appends the name of every package the
 * process resolves from node_modules (import, import() and require alike), once each, to the
 * file named by LOADED_PACKAGES_FILE. Appended synchronously, so the list survives a kill.
 */
import { appendFileSync } from "node:fs"
import { registerHooks } from "node:module"

const file = process.env["LOADED_PACKAGES_FILE"]
if (file === undefined) throw new Error("record-packages: set LOADED_PACKAGES_FILE")
const seen = new Set<string>()

registerHooks({
  resolve: (specifier, context, nextResolve) => {
    const resolved = nextResolve(specifier, context)
    // The package that holds the file: the part after the last node_modules/.
    const name = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(resolved.url)?.[1]
    if (name !== undefined && !seen.has(name)) {
      seen.add(name)
      appendFileSync(file, `${name}\n`)
    }
    return resolved
  }
})
