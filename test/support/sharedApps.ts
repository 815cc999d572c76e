import { Effect, Exit, Scope } from "effect"
import { expect } from "vitest"
import { makeTestApp, type TestAppOptions } from "./app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "./database.ts"
import type { CoreClient } from "./typedClient.ts"
import { ok } from "./typedClient.ts"

type App = ReturnType<typeof makeTestApp>

/**
 * `count` test apps (instances) sharing one fresh database on the real PostgreSQL and the real
 * Redis: `start` in beforeAll, `stop` in afterAll, `app(i)` in between.
 */
export const sharedApps = (count: number, options: Omit<TestAppOptions, "databaseUrl" | "redisUrl"> = {}) => {
  const scope = Effect.runSync(Scope.make())
  const apps: Array<App> = []
  let databaseUrl = ""
  return {
    app: (i = 0): App => apps[i]!,
    databaseUrl: () => databaseUrl,
    start: async () => {
      const serverUrl = realDatabaseUrl()
      if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
      databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
      for (let i = 0; i < count; i++) apps.push(makeTestApp({ ...options, databaseUrl, redisUrl: realRedisUrl() }))
    },
    stop: async () => {
      for (const app of apps) await app.dispose()
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
}

/** A 1x1 transparent PNG. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=",
  "base64"
)

/**
 * A completed upload of the design through `app`'s local storage routes (request, PUT, complete);
 * answers its id and a download URL (path and query) taken while it existed.
 */
export const completedUpload = async (api: CoreClient, app: App, designId: string) => {
  const ticket = await ok(api.assets.requestUpload({
    params: { id: designId as never },
    payload: { fileName: "logo.png", contentType: "image/png", byteSize: PNG.length }
  }), 201)
  const url = new URL(ticket.uploadUrl)
  const put = await app.handler(new Request(`http://test${url.pathname}${url.search}`, { method: "PUT", headers: ticket.headers, body: PNG }))
  expect(put.status).toBe(200)
  const params = { id: designId as never, assetId: ticket.assetId }
  await ok(api.assets.complete({ params }), 200)
  const download = new URL((await ok(api.assets.download({ params }), 200)).url)
  return { assetId: ticket.assetId as string, downloadPath: `${download.pathname}${download.search}` }
}
