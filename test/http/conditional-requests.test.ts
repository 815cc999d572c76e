import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { attempt, failureAndResponse, ok, typedClient } from "../support/typedClient.ts"
import type { DesignId } from "../../src/domain/Design.ts"

/**
 * ETag and If-None-Match on designs (issue 15, ADR 0020), on real PostgreSQL and Redis, so
 * that the first read of a design is a cache miss and the next ones are hits.
 */
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
const api = typedClient(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl() })
})
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const signUp = async () => {
  const { tokens } = await ok(
    api().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "Designer" } }),
    201
  )
  return tokens.accessToken
}

const createDesign = async (token: string) => {
  const outcome = await attempt(api(token).designs.create({ payload: { name: "Mug", productType: "mug", document: validDocument() } }))
  if (outcome._tag !== "Success") throw new Error("create failed")
  return { design: outcome.value, response: outcome.response! }
}

/** GET with If-None-Match (the typed client sends the caller's extra headers with the request). */
const getWith = (token: string, id: DesignId, ifNoneMatch?: string) =>
  attempt(api(ifNoneMatch === undefined ? token : { token, headers: { "if-none-match": ifNoneMatch } }).designs.get({ params: { id } }))

const notModified = async (token: string, id: DesignId, ifNoneMatch: string) => {
  const { error, response } = await failureAndResponse(
    api({ token, headers: { "if-none-match": ifNoneMatch } }).designs.get({ params: { id } }),
    "NotModified"
  )
  expect(error._tag).toBe("NotModified")
  expect(response?.status).toBe(304)
  expect(response?.text).toBe("")
  return response!
}

describe("conditional requests on designs", () => {
  it("tags every design answer with its version, and answers 304 to a GET naming the current one", async () => {
    const token = await signUp()
    const { design, response: created } = await createDesign(token)
    expect(created.headers.get("etag")).toBe("\"v1\"")
    const id = design.id

    // First read: a cache miss; second: a hit. Both send the same tag.
    for (let i = 0; i < 2; i++) {
      const read = await getWith(token, id)
      expect(read).toMatchObject({ _tag: "Success", status: 200, value: design })
      expect(read.response?.headers.get("etag")).toBe("\"v1\"")
    }

    const current = await notModified(token, id, "\"v1\"")
    expect(current.headers.get("etag")).toBe("\"v1\"")
    expect(current.headers.get("x-request-id")).not.toBeNull()

    const stale = await getWith(token, id, "\"v0\"")
    expect(stale).toMatchObject({ _tag: "Success", status: 200, value: design })

    const updated = await attempt(api(token).designs.update({ params: { id }, headers: { "if-match": "\"v1\"" }, payload: { name: "Renamed" } }))
    expect(updated).toMatchObject({ _tag: "Success", status: 200, value: { version: 2, name: "Renamed" } })
    expect(updated.response?.headers.get("etag")).toBe("\"v2\"")

    const afterUpdate = await getWith(token, id, "\"v1\"")
    expect(afterUpdate).toMatchObject({ _tag: "Success", status: 200, value: { version: 2, name: "Renamed" } })
    expect(afterUpdate.response?.headers.get("etag")).toBe("\"v2\"")
    await notModified(token, id, "\"v2\"")

    const copy = await attempt(api(token).designs.duplicate({ params: { id } }))
    expect(copy).toMatchObject({ _tag: "Success", status: 201 })
    expect(copy.response?.headers.get("etag")).toBe("\"v1\"")
  })

  it("compares If-None-Match weakly, in lists and with *; an unparsable one is ignored", async () => {
    const token = await signUp()
    const { design } = await createDesign(token)
    const id = design.id
    await notModified(token, id, "W/\"v1\"")
    await notModified(token, id, "\"v7\", W/\"v1\"")
    await notModified(token, id, "\"v7\",\"v1\"")
    await notModified(token, id, "*")
    for (const header of ["v1", "\"v11\"", "\"v1", "W/\"v2\", \"v3\"", "\"v7\" garbage \"v1\"", ""]) {
      const full = await getWith(token, id, header)
      expect(full, header).toMatchObject({ _tag: "Success", status: 200, value: design })
    }
  })

  it("never tells someone else's or a deleted design apart from a missing one, whatever If-None-Match says", async () => {
    const owner = await signUp()
    const intruder = await signUp()
    const { design } = await createDesign(owner)
    for (const header of ["*", "\"v1\""]) {
      const theirs = await getWith(intruder, design.id, header)
      expect(theirs).toMatchObject({ _tag: "Failure", status: 404, error: { _tag: "NotFound" } })
    }
    await ok(api(owner).designs.delete({ params: { id: design.id } }), 204)
    const deleted = await getWith(owner, design.id, "*")
    expect(deleted).toMatchObject({ _tag: "Failure", status: 404, error: { _tag: "NotFound" } })
  })

  it("If-Match: * (any current representation, RFC 9110 §13.1.1) adds no condition: the body's version decides", async () => {
    const token = await signUp()
    const { design } = await createDesign(token)
    const star = { params: { id: design.id }, headers: { "if-match": "*" } }
    const updated = await attempt(api(token).designs.update({ ...star, payload: { version: 1, name: "Starred" } }))
    expect(updated).toMatchObject({ _tag: "Success", status: 200, value: { version: 2, name: "Starred" } })
    expect(updated.response?.headers.get("etag")).toBe("\"v2\"")
    const stale = await attempt(api(token).designs.update({ ...star, payload: { version: 1, name: "Stale" } }))
    expect(stale.status).toBe(409)
    const unversioned = await attempt(api(token).designs.update({ ...star, payload: { name: "No version" } }))
    expect(unversioned.status).toBe(400)
    const intruder = await attempt(api(await signUp()).designs.update({ ...star, payload: { version: 2, name: "Theirs" } }))
    expect(intruder.status).toBe(404)
  })

  it("sends the same bytes for one version, whether created, read from PostgreSQL or from the cache", async () => {
    const token = await signUp()
    const { design, response: created } = await createDesign(token)
    const miss = await getWith(token, design.id)
    const hit = await getWith(token, design.id)
    expect(miss.response?.text).toBe(created.text)
    expect(hit.response?.text).toBe(created.text)
    expect(hit.response?.headers.get("content-type")).toBe(created.headers.get("content-type"))
  })
})
