import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, expect, it } from "vitest"
import * as Accounts from "../../src/features/accounts/Feature.ts"
import * as SessionsRepository from "../../src/features/accounts/SessionsRepository.ts"
import * as Auth from "../../src/features/auth/Feature.ts"
import * as PasswordResetsRepository from "../../src/features/accounts/PasswordResetsRepository.ts"
import * as Housekeeping from "../../src/features/jobs/Housekeeping.ts"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { ok, typedClient } from "../support/typedClient.ts"

/** The worker's hourly housekeeping deletes ended sessions and old reset requests, and only those. */
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let app: ReturnType<typeof makeTestApp>
const api = typedClient(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl() })
}, 60_000)
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const inDatabase = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient | SessionsRepository.SessionsRepository | PasswordResetsRepository.PasswordResetsRepository>) =>
  Effect.runPromise(effect.pipe(Effect.provide(
    Layer.merge(SessionsRepository.layerSql, PasswordResetsRepository.layerSql).pipe(
      Layer.provideMerge(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))
    )
  )))
const query = <A extends object>(statement: string) =>
  inDatabase(Effect.flatMap(Effect.service(SqlClient.SqlClient), (sql) => sql.unsafe<A>(statement)))

it("deletes sessions ended over a day ago (with their tokens) and reset requests over a day old", async () => {
  const email = `housekeeping-${Date.now()}@example.com`
  const password = "correct horse battery"
  const registered = await ok(api().auth.register({ payload: { email, password, fullName: "House" } }), 201)
  const loggedOut = (await ok(api().auth.login({ payload: { email, password } }))).tokens
  const expired = (await ok(api().auth.login({ payload: { email, password } }))).tokens
  const recentlyEnded = (await ok(api().auth.login({ payload: { email, password } }))).tokens
  await ok(api(loggedOut.accessToken).auth.logout(), 204)
  await ok(api(recentlyEnded.accessToken).auth.logout(), 204)
  const idOf = (refreshToken: string) => refreshToken.split(".")[0]
  await query(`UPDATE sessions SET revoked_at = now() - interval '2 days' WHERE id = '${idOf(loggedOut.refreshToken)}'`)
  await query(`UPDATE sessions SET absolute_expires_at = now() - interval '2 days' WHERE id = '${idOf(expired.refreshToken)}'`)
  // A token rotated two days ago goes; its successor stays.
  const rotated = await ok(api().auth.refresh({ payload: { refreshToken: registered.tokens.refreshToken } }))
  await query(`UPDATE refresh_tokens SET rotated_at = now() - interval '2 days' WHERE rotated_at IS NOT NULL`)
  await ok(api().auth.requestPasswordReset({ payload: { email } }), 202)
  await query(`UPDATE password_reset_requests SET requested_at = now() - interval '2 days'`)
  await ok(api().auth.requestPasswordReset({ payload: { email } }), 202)

  await inDatabase(Housekeeping.runOnce([...Accounts.housekeeping, ...Auth.housekeeping]))

  const sessions = await query<{ id: string }>(`SELECT id FROM sessions ORDER BY id`)
  expect(sessions.map((row) => row.id).sort()).toEqual(
    [idOf(registered.tokens.refreshToken), idOf(recentlyEnded.refreshToken)].sort()
  )
  const orphans = await query<{ n: number }>(`SELECT count(*)::int AS n FROM refresh_tokens WHERE session_id NOT IN (SELECT id FROM sessions)`)
  expect(orphans[0]!.n).toBe(0)
  const tokens = await query<{ n: number }>(`SELECT count(*)::int AS n FROM refresh_tokens`)
  expect(tokens[0]!.n).toBe(2)
  const requests = await query<{ n: number }>(`SELECT count(*)::int AS n FROM password_reset_requests`)
  expect(requests[0]!.n).toBe(1)
  // The session that was kept still works, and so does its current refresh token.
  await ok(api(registered.tokens.accessToken).me.get())
  await ok(api().auth.refresh({ payload: { refreshToken: rotated.tokens.refreshToken } }))
})
