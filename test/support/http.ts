import type { DesignDocument } from "../../src/domain/DesignDocument.ts"
import type { makeTestApp } from "./app.ts"
import { assertConforms } from "./contract.ts"

export interface Sent {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
}

export interface CallOptions {
  readonly body?: unknown
  readonly token?: string
  readonly headers?: Record<string, string>
  /** false: a response that is out of contract on purpose (rows written around the API); not checked. */
  readonly contract?: false
}

/**
 * A raw JSON client over a test app's fetch handler, for what the typed client (./typedClient.ts)
 * cannot send: values its schemas refuse, malformed bodies, odd headers, routes beside the API.
 */
export const client = (app: () => ReturnType<typeof makeTestApp>) =>
  async (method: string, path: string, options: CallOptions = {}): Promise<Sent> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.body !== undefined) headers["content-type"] = "application/json"
    if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
    const init: RequestInit = { method, headers }
    if (options.body !== undefined) init.body = JSON.stringify(options.body)
    const response = await app().handler(new Request(`http://test${path}`, init))
    const text = await response.text()
    if (options.contract !== false) assertConforms({ method, path, status: response.status, headers: response.headers, text })
    return { status: response.status, headers: response.headers, text, body: text === "" ? undefined : JSON.parse(text) }
  }

let counter = 0
export const uniqueEmail = () => `user${Date.now()}x${counter++}@example.com`

/** The example document, valid for every product. */
export const validDocument = (): DesignDocument => ({
  canvas: { width: 800, height: 600, unit: "px", dpi: 300, background: "#ffffff" },
  layers: [{
    id: "l1", type: "text", x: 10, y: 10, width: 200, height: 50, rotation: 0, opacity: 1, zIndex: 1,
    content: "Hello", fontFamily: "Inter", fontSize: 24, color: "#000000", align: "left"
  }]
})
