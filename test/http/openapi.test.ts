import { afterAll, describe, expect, it } from "vitest"
import { routeTable, routesBesideTheApi } from "../../src/app/Server.ts"
import { makeTestApp } from "../support/app.ts"

const app = makeTestApp({})
afterAll(() => app.dispose())
const get = (path: string) => app.handler(new Request(`http://test${path}`))

describe("documentation", () => {
  it("serves an OpenAPI 3.1 document generated from the HttpApi, documenting every served route", async () => {
    const response = await get("/openapi.json")
    expect(response.status).toBe(200)
    const spec = await response.json() as { openapi: string; info: { title: string }; paths: Record<string, Record<string, unknown>> }
    expect(spec.openapi).toMatch(/^3\.1\./)
    expect(spec.info.title).toBe("Customify Core API")
    const documented = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`))
    const served = routeTable.routes
      // Documentation, metrics and the local upload routes are served beside the API, not in it.
      .filter((route) => !routesBesideTheApi.some((extra) => extra.method === route.method && extra.path === route.path))
      .map((route) => `${route.method} ${route.path}`)
    expect(documented.sort()).toEqual(served.sort())
    const health = spec.paths["/health"]?.["get"] as { responses: Record<string, unknown> }
    expect(Object.keys(health.responses)).toEqual(expect.arrayContaining(["200", "503"]))
  })

  it("serves Swagger UI and ReDoc with every asset from this server, no CDN", async () => {
    for (const path of ["/docs", "/redoc"]) {
      const response = await get(path)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/html")
      const html = await response.text()
      expect(html).not.toMatch(/<script[^>]+src=["']https?:/)
      expect(html).not.toMatch(/<link[^>]+href=["']https?:/)
    }
    const script = await get("/redoc/redoc.standalone.js")
    expect(script.status).toBe(200)
    expect(script.headers.get("content-type")).toContain("javascript")
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000)
  })
})
