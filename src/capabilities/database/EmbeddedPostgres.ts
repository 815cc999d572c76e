import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Data, Effect, Redacted, type Scope } from "effect"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmbeddedPostgres {
  readonly url: Redacted.Redacted
  /** Where the data lives, or "memory". */
  readonly location: string
}

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * PGlite allows any number of processes to open the same folder and then corrupts it,
 * so a pid file guards the data directory against a second writer.
 */
const acquireDirectoryLock = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        mkdirSync(dataDir, { recursive: true })
        const lockFile = join(dataDir, "customify.lock")
        try {
          writeFileSync(lockFile, String(process.pid), { flag: "wx" })
        } catch {
          const owner = Number(readFileSync(lockFile, "utf8"))
          if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
            throw new Error(`embedded database ${dataDir} is already in use by process ${owner}`)
          }
          writeFileSync(lockFile, String(process.pid))
        }
        return lockFile
      },
      catch: (cause) =>
        new EmbeddedPostgresError({ message: cause instanceof Error ? cause.message : String(cause), cause })
    }),
    (lockFile) => Effect.sync(() => rmSync(lockFile, { force: true }))
  )

/**
 * Starts PGlite (PostgreSQL compiled to WebAssembly) behind a PostgreSQL wire-protocol socket
 * on a free loopback port, so `@effect/sql-pg` talks to it exactly as to a real server.
 * `dataDir` undefined keeps everything in memory (tests). PGlite is imported here, so processes
 * on a real PostgreSQL never load it.
 */
export const start = (dataDir: string | undefined): Effect.Effect<EmbeddedPostgres, EmbeddedPostgresError, Scope.Scope> =>
  Effect.gen(function*() {
    const [{ PGlite }, { PGLiteSocketServer }] = yield* Effect.tryPromise({
      try: () => Promise.all([import("@electric-sql/pglite"), import("@electric-sql/pglite-socket")]),
      catch: (cause) => new EmbeddedPostgresError({ message: "cannot load the embedded database (@electric-sql/pglite)", cause })
    })
    if (dataDir !== undefined) yield* acquireDirectoryLock(dataDir)
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create(dataDir === undefined ? {} : { dataDir }),
        catch: (cause) => new EmbeddedPostgresError({ message: "cannot open the embedded database", cause })
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.ignore)
    )
    const server = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 1 })
          await server.start()
          return server
        },
        catch: (cause) => new EmbeddedPostgresError({ message: "cannot start the embedded database socket", cause })
      }),
      (server) => Effect.promise(() => server.stop()).pipe(Effect.ignore)
    )
    return {
      url: Redacted.make(`postgres://postgres@${server.getServerConn()}/postgres`),
      location: dataDir ?? "memory"
    }
  })
