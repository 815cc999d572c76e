import { Context, Duration, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CacheStore, layerRedis } from "../../src/capabilities/cache/CacheStore.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * The cached design answers as another release or damage left them in Redis (a rolling deploy
 * shares the key `design:v1:<id>` between the all-JSON format and `<owner> <version> <body>`):
 * every read still answers the design as stored in PostgreSQL, with its tag, and the entry is
 * replaced by one this release reads.
 */
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
let redis: CacheStore["Service"]
const api = typedClient(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const redisUrl = realRedisUrl()
  if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl })
  redis = Context.get(await Effect.runPromise(Layer.buildWithScope(layerRedis(Redacted.make(redisUrl)), scope)), CacheStore)
}, 60_000)
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const seeded = async () => {
  const token = (await ok(api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "C" } }), 201))
    .tokens.accessToken
  const design = await ok(api(token).designs.create({ payload: { name: "Mug", productType: "mug", document: validDocument() } }), 201)
  const key = `design:v1:${design.id}`
  // A first read caches the answer as this release writes it.
  const read = await attempt(api(token).designs.get({ params: { id: design.id } }))
  const body = read.response!.text
  const entry = Option.getOrThrow(await Effect.runPromise(redis.get(key)))
  expect(entry).toBe(`${design.ownerId} 1 ${body}`)
  return { token, design, key, body }
}

const put = (key: string, value: string) => Effect.runPromise(redis.set(key, value, Duration.seconds(60)))

describe("cached design answers left by another release or damaged", () => {
  it.each([
    ["the former all-JSON format", (body: string, _owner: string) => body],
    ["a truncated entry", (body: string, owner: string) => `${owner} 1 ${body.slice(0, body.length - 10)}`],
    ["a body this release cannot read as a design", (_body: string, owner: string) => `${owner} 1 {"format":"next"}`]
  ])("%s: reads answer the design from PostgreSQL; duplicate and update still find it", async (_name, damage) => {
    const { body, design, key, token } = await seeded()
    await put(key, damage(body, design.ownerId))
    if (!_name.includes("cannot read")) {
      const read = await attempt(api(token).designs.get({ params: { id: design.id } }))
      expect(read.status).toBe(200)
      expect(read.response!.text).toBe(body)
      expect(read.response!.headers.get("etag")).toBe("\"v1\"")
      expect(Option.getOrThrow(await Effect.runPromise(redis.get(key)))).toBe(`${design.ownerId} 1 ${body}`)
      await put(key, damage(body, design.ownerId))
    }
    const copy = await attempt(api(token).designs.duplicate({ params: { id: design.id } }))
    expect(copy.status, copy.response?.text).toBe(201)
    const updated = await attempt(api(token).designs.update({ params: { id: design.id }, headers: { "if-match": "\"v1\"" }, payload: { name: "Renamed" } }))
    expect(updated.status, updated.response?.text).toBe(200)
    expect(updated.response!.headers.get("etag")).toBe("\"v2\"")
  })
})
