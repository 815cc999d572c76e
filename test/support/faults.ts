import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { createConnection } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./servers.ts"

export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export const waitFor = async <A>(what: string, timeoutMs: number, check: () => Promise<A | undefined> | A | undefined) => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await sleep(100)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
}

export interface ControllableRedis {
  readonly port: number
  readonly url: string
  /** SIGKILLs the server (an outage: connections drop, nothing is saved). */
  readonly kill: () => Promise<void>
  /** Starts it again, empty, on the same port. */
  readonly restart: () => Promise<void>
  readonly stop: () => Promise<void>
}

/**
 * A Redis of this test file's own, on a fixed port, that the test may kill and restart (the
 * shared one of the global setup must stay up for the other files).
 */
export const startControllableRedis = async (binary: string): Promise<ControllableRedis> => {
  const dir = mkdtempSync(join(tmpdir(), "customify-fault-redis-"))
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    const spawned = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
      stdio: "ignore"
    })
    child = spawned
    await waitFor(`redis on ${port}`, 10_000, async () => (await accepts(port)) ? true : undefined)
  }
  const kill = async () => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null) return
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()))
    running.kill("SIGKILL")
    await exited
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill,
    restart: start,
    stop: async () => {
      await kill()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** A JSON call to a server on loopback, timed. */
export const httpCall = async (
  base: string,
  method: string,
  path: string,
  options: { readonly token?: string; readonly body?: unknown; readonly timeoutMs?: number } = {}
) => {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
  if (options.body !== undefined) headers["content-type"] = "application/json"
  const started = performance.now()
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
  })
  const text = await response.text()
  let body: any = undefined
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    body = text
  }
  return { status: response.status, headers: response.headers, body, millis: performance.now() - started }
}

/** The JSON log lines of a process's stdout. */
export const logLines = (stdout: string) =>
  stdout.split("\n").filter((line) => line.startsWith("{")).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, any>]
    } catch {
      return []
    }
  })

export interface S3Request {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: string
}

/**
 * A tiny path-style S3 stub for ListObjectsV2 and DeleteObjects over an in-memory key set.
 * `onRequest` may return "hang" to never answer a request (a worker stuck mid-job).
 */
export const startS3Stub = async (onRequest: (request: S3Request) => "hang" | "answer" = () => "answer") => {
  const objects = new Set<string>()
  const requests: Array<S3Request> = []
  const hanging: Array<ServerResponse> = []
  const escape = (text: string) => text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = ""
    request.on("data", (chunk: Buffer) => void (body += chunk.toString()))
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://stub")
      const seen: S3Request = { method: request.method ?? "GET", path: url.pathname, query: url.searchParams, body }
      requests.push(seen)
      if (onRequest(seen) === "hang") {
        hanging.push(response)
        return
      }
      const xml = (status: number, text: string) => {
        response.writeHead(status, { "content-type": "application/xml" })
        response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${text}`)
      }
      if (seen.method === "GET" && url.searchParams.get("list-type") === "2") {
        const prefix = url.searchParams.get("prefix") ?? ""
        const keys = [...objects].filter((key) => key.startsWith(prefix)).sort()
        return xml(200, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name>` +
          `<Prefix>${escape(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
          keys.map((key) => `<Contents><Key>${escape(key)}</Key><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>`).join("") +
          `</ListBucketResult>`)
      }
      if (seen.method === "POST" && url.searchParams.has("delete")) {
        const keys = [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((match) => match[1]!)
        for (const key of keys) objects.delete(key)
        return xml(200, `<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>`)
      }
      xml(501, `<Error><Code>NotImplemented</Code><Message>stub</Message></Error>`)
    })
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
