import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * The SDKs each capability imports only when its live layer is built (S3, SQS, OpenAI, Pinecone,
 * the embedded database, SMTP): together about 100 MiB that an unconfigured process must not pay for.
 */
export const isOptionalSdk = (name: string) =>
  /^(@aws-sdk|@smithy|@pinecone-database|@electric-sql)\//.test(name) || name === "openai" || name === "nodemailer"

/**
 * Records which packages a child process loads: start it with `env` (and its own environment)
 * and read `packages()` afterwards; `remove()` deletes the record.
 */
export const recordPackages = () => {
  const dir = mkdtempSync(join(tmpdir(), "customify-packages-"))
  const file = join(dir, "packages.txt")
  const hook = new URL("./record-packages.ts", import.meta.url).href
  return {
    env: { NODE_OPTIONS: `--import=${hook}`, LOADED_PACKAGES_FILE: file },
    packages: (): ReadonlyArray<string> => {
      try {
        return readFileSync(file, "utf8").split("\n").filter((line) => line !== "").sort()
      } catch {
        return []
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}
