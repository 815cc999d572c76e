import { Effect, Exit, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeTestApp, recordingMailer } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl } from "../support/database.ts"
import { sleep, waitFor } from "../support/faults.ts"
import { redisTopologies, requireRedis } from "../support/redisTopology.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * Whoever is signed out stays out, whoever is signed in stays in: refreshes, revocations and
 * sign-ins fired together on two instances sharing real PostgreSQL and Redis, many rounds over.
 */
const scope = Effect.runSync(Scope.make())
const mailer = recordingMailer()
let databaseUrl: string
let instanceA: ReturnType<typeof makeTestApp>
let instanceB: ReturnType<typeof makeTestApp>

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
}, 60_000)
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const a = typedClient(() => instanceA)
const b = typedClient(() => instanceB)
const instances = [a, b]
/** An instance for the i-th request of a burst: alternating, so every race spans both. */
const on = (i: number) => instances[i % 2]!

/** Longer than the in-process liveness cache of the instance that did not revoke (500 ms). */
const LOCAL_CACHE = 600

const query = (statement: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

const countOpen = (userId: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql.unsafe<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE user_id = '${userId}' AND revoked_at IS NULL`)
    return rows[0]!.n
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

let counter = 0
const PASSWORD = "correct horse battery"
const register = async () => {
  const email = `race${Date.now()}x${counter++}@example.com`
  const { user, tokens } = await ok(a().auth.register({ payload: { email, password: PASSWORD, fullName: "Racer" } }), 201)
  return { email, user, tokens }
}
const login = (i: number, email: string, password = PASSWORD) => on(i)().auth.login({ payload: { email, password } })
const refresh = (i: number, refreshToken: string) => on(i)().auth.refresh({ payload: { refreshToken } })

/** Fires `count` refreshes of `refreshToken` at once beside `race`; answers the token pairs issued. */
const refreshesRacing = async (refreshToken: string, count: number, race: () => Promise<unknown>) => {
  const [results] = await Promise.all([
    Promise.all(Array.from({ length: count }, (_, i) => attempt(refresh(i, refreshToken)))),
    race()
  ])
  return results.flatMap((result) => result._tag === "Success" ? [result.value.tokens] : [])
}

/** Every access token refused on both instances, every refresh token refused. */
const expectAllSignedOut = async (tokens: ReadonlyArray<{ accessToken: string; refreshToken: string }>) => {
  await sleep(LOCAL_CACHE)
  for (const [i, pair] of tokens.entries()) {
    for (const client of instances) {
      const me = await attempt(client(pair.accessToken).me.get())
      expect(me._tag, `access token ${i} still works after the revocation`).toBe("Failure")
    }
    const again = await attempt(refresh(i, pair.refreshToken))
    expect(again._tag, `refresh token ${i} still works after the revocation`).toBe("Failure")
  }
}

const ROUNDS = 15

/**
 * Every race on one Redis node; on the cluster, the races whose Redis work differs in kind
 * (a revocation read by the other instance, one token refreshed on both), fewer rounds: the
 * others repeat the same single-key commands behind bcrypt work, minutes the suite cannot spare.
 */
describe.each(redisTopologies())("sessions on two instances (Redis: $name)", (topology) => {
  const everything = topology.name === "one node"
  /** Declared on one node only: a test skipped in CI would read as a failure of it. */
  const onOneNode = (name: string, test: () => Promise<void>, timeout?: number) => {
    if (everything) it(name, test, timeout)
  }
  beforeAll(() => {
    requireRedis(topology)
    // Instance A also runs the worker, which mails reset links to a recording mailer.
    instanceA = makeTestApp({ databaseUrl, ...topology.redis, worker: true, overrides: mailer.layer })
    instanceB = makeTestApp({ databaseUrl, ...topology.redis })
  })
  afterAll(async () => {
    await instanceA?.dispose()
    await instanceB?.dispose()
  })


  describe("revocations racing refreshes", () => {
    it("a logout fired with eight refreshes sticks, on both instances, every round", async () => {
      const { email } = await register()
      for (let round = 0; round < (everything ? ROUNDS : ROUNDS / 3); round++) {
        const session = (await ok(login(round, email))).tokens
        const issued = await refreshesRacing(session.refreshToken, 8, () =>
          ok(on(round + 1)(session.accessToken).auth.logout(), 204))
        await expectAllSignedOut([session, ...issued])
      }
    }, 120_000)

    onOneNode("a password change ends the other sessions despite their refreshes in flight", async () => {
      const { email } = await register()
      let password = PASSWORD
      for (let round = 0; round < ROUNDS / 3; round++) {
        const changer = (await ok(login(round, email, password))).tokens
        const other = (await ok(login(round + 1, email, password))).tokens
        const next = `${PASSWORD} ${round}`
        const issued = await refreshesRacing(other.refreshToken, 8, () =>
          ok(on(round)(changer.accessToken).me.changePassword({ payload: { currentPassword: password, newPassword: next } }), 204))
        password = next
        await expectAllSignedOut([other, ...issued])
        // The session that changed the password stays signed in.
        await ok(a(changer.accessToken).me.get())
      }
    }, 120_000)

    onOneNode("a password reset confirmed with refreshes in flight ends every session", async () => {
      const { email } = await register()
      // Three rounds: an account gets at most 3 reset mails an hour.
      for (let round = 0; round < 3; round++) {
        const session = (await ok(login(round, email, round === 0 ? PASSWORD : `${PASSWORD} reset ${round - 1}`))).tokens
        await ok(b().auth.requestPasswordReset({ payload: { email } }), 202)
        const token = await waitFor("the reset mail", 10_000, async () => (await mailer.resetTokens(email))[round])
        const issued = await refreshesRacing(session.refreshToken, 8, () =>
          ok(on(round + 1)().auth.confirmPasswordReset({ payload: { token, newPassword: `${PASSWORD} reset ${round}` } }), 204))
        await expectAllSignedOut([session, ...issued])
      }
    }, 120_000)

    onOneNode("an administrator's change ends the sessions despite refreshes in flight; new ones carry the new role", async () => {
      const admin = await register()
      await query(`UPDATE users SET role = 'admin' WHERE id = '${admin.user.id}'`)
      const adminToken = (await ok(login(0, admin.email))).tokens.accessToken
      const { email, user } = await register()
      for (let round = 0; round < ROUNDS / 3; round++) {
        const session = (await ok(login(round, email))).tokens
        const role = round % 2 === 0 ? "admin" : "user"
        const issued = await refreshesRacing(session.refreshToken, 8, () =>
          ok(on(round + 1)(adminToken).admin.updateUser({ params: { id: user.id }, payload: { role } })))
        await expectAllSignedOut([session, ...issued])
        const fresh = await ok(login(round, email))
        expect(fresh.user.role).toBe(role)
        expect((await ok(b(fresh.tokens.accessToken).me.get())).role).toBe(role)
      }
    }, 120_000)

    onOneNode("a sign-in racing a password change never outlives it with the old password", async () => {
      const { email } = await register()
      let password = PASSWORD
      for (let round = 0; round < ROUNDS / 3; round++) {
        const changer = (await ok(login(round, email, password))).tokens
        const next = `${PASSWORD} ${round}`
        const [logins] = await Promise.all([
          // Spread over the change's bcrypt work and commit: some read the old hash before the
          // commit and would start their session after it.
          Promise.all(Array.from({ length: 12 }, (_, i) => sleep(i * 20).then(() => attempt(login(i, email, password))))),
          ok(a(changer.accessToken).me.changePassword({ payload: { currentPassword: password, newPassword: next } }), 204)
        ])
        password = next
        await expectAllSignedOut(logins.flatMap((result) => result._tag === "Success" ? [result.value.tokens] : []))
      }
    }, 120_000)
  })

  describe("sessions per user", () => {
    onOneNode("parallel sign-ins beyond MAX_SESSIONS_PER_USER leave at most that many open, the last one included", async () => {
      const limited = makeTestApp({ databaseUrl, ...topology.redis, config: { maxSessionsPerUser: 3 } })
      try {
        const client = typedClient(() => limited)
        const { email, user } = await register()
        // Nine at once: ten attempts in flight from one address would meet the login throttle.
        await Promise.all(Array.from({ length: 9 }, () => ok(client().auth.login({ payload: { email, password: PASSWORD } }))))
        const last = await ok(client().auth.login({ payload: { email, password: PASSWORD } }))
        await ok(client(last.tokens.accessToken).me.get())
        const open = await countOpen(user.id)
        expect(open).toBeLessThanOrEqual(3)
        expect(open).toBeGreaterThanOrEqual(1)
      } finally {
        await limited.dispose()
      }
    }, 60_000)
  })

  describe("concurrent refreshes of one token", () => {
    it("both tabs get the same successor, which keeps the session going, every round", async () => {
      const { email } = await register()
      const session = (await ok(login(0, email))).tokens
      let refreshToken = session.refreshToken
      for (let round = 0; round < ROUNDS; round++) {
        const [first, second] = await Promise.all([ok(refresh(0, refreshToken)), ok(refresh(1, refreshToken))])
        expect(second.tokens.refreshToken).toBe(first.tokens.refreshToken)
        await ok(b(first.tokens.accessToken).me.get())
        await ok(a(second.tokens.accessToken).me.get())
        refreshToken = first.tokens.refreshToken
      }
      // The last successor is current: it still rotates.
      await ok(refresh(0, refreshToken))
    }, 120_000)
  })
})
