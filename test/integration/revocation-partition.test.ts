import { createConnection, createServer, type Server, type Socket } from "node:net"
import { Duration, Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { sleep } from "../support/faults.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * Review of issue 13: "revocation is strict in every state". Each instance reaches the shared
 * Redis through its own TCP proxy, so one instance can lose Redis while the other keeps it (a
 * partial partition, or a Redis that only one instance's network path cannot reach). A session
 * revoked on the cut-off instance is committed in PostgreSQL, but the announcement cannot reach
 * Redis; the other instance keeps reading the `open` a reader left there (up to 30 s) and lets
 * the revoked session in for that long.
 */
interface Proxy {
  readonly url: string
  /** Drops every connection and refuses new ones (the instance cannot reach Redis). */
  readonly cut: () => void
  readonly restore: () => void
  /** Keeps connections open but forwards nothing any more (a Redis that stopped answering). */
  readonly hang: () => void
  readonly close: () => Promise<void>
}

const startProxy = async (upstream: URL): Promise<Proxy> => {
  let open = true
  let hanging = false
  const sockets = new Set<Socket>()
  const pairs = new Set<readonly [Socket, Socket]>()
  const server: Server = createServer((client) => {
    if (!open) return client.destroy()
    if (hanging) {
      sockets.add(client)
      client.resume()
      return
    }
    const remote = createConnection(Number(upstream.port || 6379), upstream.hostname)
    sockets.add(client).add(remote)
    client.pipe(remote).pipe(client)
    pairs.add([client, remote])
    const drop = () => {
      client.destroy()
      remote.destroy()
      sockets.delete(client)
      sockets.delete(remote)
    }
    client.on("error", drop).on("close", drop)
    remote.on("error", drop).on("close", drop)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as { port: number }).port
  const url = new URL(upstream.toString())
  url.hostname = "127.0.0.1"
  url.port = String(port)
  return {
    url: url.toString(),
    cut: () => {
      open = false
      for (const socket of sockets) socket.destroy()
      sockets.clear()
    },
    restore: () => {
      open = true
    },
    hang: () => {
      hanging = true
      for (const [client, remote] of pairs) {
        client.unpipe(remote)
        remote.unpipe(client)
        client.resume()
        remote.resume()
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

const scope = Effect.runSync(Scope.make())
let proxyA: Proxy
let proxyB: Proxy
let proxyC: Proxy
let instanceC: ReturnType<typeof makeTestApp>
let instanceA: ReturnType<typeof makeTestApp>
let instanceB: ReturnType<typeof makeTestApp>
const a = typedClient(() => instanceA)
const b = typedClient(() => instanceB)
const c = typedClient(() => instanceC)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  const redisUrl = realRedisUrl()
  if (serverUrl === undefined || redisUrl === undefined) throw new Error("needs real PostgreSQL and Redis")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  proxyA = await startProxy(new URL(redisUrl))
  proxyB = await startProxy(new URL(redisUrl))
  instanceA = makeTestApp({ databaseUrl, redisUrl: proxyA.url })
  instanceB = makeTestApp({ databaseUrl, redisUrl: proxyB.url })
  proxyC = await startProxy(new URL(redisUrl))
  instanceC = makeTestApp({ databaseUrl, redisUrl: proxyC.url, config: { requestTimeout: Duration.seconds(5) } })
}, 60_000)
afterAll(async () => {
  await instanceA?.dispose()
  await instanceB?.dispose()
  await proxyA?.close()
  await proxyB?.close()
  await instanceC?.dispose()
  await proxyC?.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("a revocation on an instance that cannot reach Redis", () => {
  it("is refused on an instance that can, after its 500 ms cache", async () => {
    const email = `review13-partition-${Date.now()}@example.com`
    await ok(a().auth.register({ payload: { email, password: "correct horse battery", fullName: "Partition" } }), 201)
    const session = (await ok(a().auth.login({ payload: { email, password: "correct horse battery" } }))).tokens
    // B reads the session's state: PostgreSQL says open, B leaves `open` in Redis for 30 s.
    await ok(b(session.accessToken).me.get())

    proxyA.cut()
    try {
      await sleep(300)
      await ok(a(session.accessToken).auth.logout(), 204)
      // Strict on A itself: its cache was invalidated and PostgreSQL says revoked.
      expect((await attempt(a(session.accessToken).me.get())).status).toBe(401)

      // B's own 500 ms cache is allowed to lag; after it, B must refuse.
      await sleep(600)
      const seen: Array<number | undefined> = []
      for (let i = 0; i < 10; i++) {
        seen.push((await attempt(b(session.accessToken).me.get())).status)
        await sleep(500)
      }
      expect(seen, "a session logged out (committed in PostgreSQL) still authenticates on B").toEqual(Array(10).fill(401))
    } finally {
      proxyA.restore()
    }
  }, 60_000)
})

describe("a revocation on an instance whose Redis stopped answering", () => {
  // Each session is announced in turn, each SET waiting for the 2 s command timeout; the request
  // timeout then interrupts the announcements (no background retry for the rest) and the client
  // is told 503 "retry shortly" for a change that committed: its retry is refused (the current
  // password it sends is no longer current).
  it("answers the password change it committed, and the retry agrees", async () => {
    const email = `review13-hang-${Date.now()}@example.com`
    const password = "correct horse battery"
    await ok(c().auth.register({ payload: { email, password, fullName: "Hang" } }), 201)
    const changer = (await ok(c().auth.login({ payload: { email, password } }))).tokens
    for (let i = 0; i < 4; i++) await ok(c().auth.login({ payload: { email, password } }))
    await ok(c(changer.accessToken).me.get())

    proxyC.hang()
    try {
      const change = await attempt(c(changer.accessToken).me.changePassword({
        payload: { currentPassword: password, newPassword: "the new password" }
      }))
      const committed = (await attempt(c().auth.login({ payload: { email, password: "the new password" } }))).status === 200
      expect({ status: change.status, committed }, "a committed password change answered as a failure").toEqual(
        committed ? { status: 204, committed } : { status: 503, committed }
      )
    } finally {
      proxyC.restore()
    }
  }, 60_000)
})
