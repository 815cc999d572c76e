import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import fc from "fast-check"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { attempt, ok, typedClient } from "../support/typedClient.ts"

/**
 * A model of one account's sessions, checked against the API on real PostgreSQL and Redis with
 * fast-check: random sequences of sign-ins, refreshes (alone and two at once), logouts, password
 * changes (ending the other sessions) and administrator role changes. After every step: a
 * revoked session never authenticates, every token pair a client legitimately holds keeps
 * working, and every access token carries the account's current role.
 */
const scope = Effect.runSync(Scope.make())
let databaseUrl: string
let app: ReturnType<typeof makeTestApp>
const api = typedClient(() => app)

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined || realRedisUrl() === undefined) throw new Error("needs real PostgreSQL and Redis")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  app = makeTestApp({ databaseUrl, redisUrl: realRedisUrl() })
}, 60_000)
afterAll(async () => {
  await app?.dispose()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const query = (statement: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

interface Tokens {
  readonly accessToken: string
  readonly refreshToken: string
}
interface Session {
  tokens: Tokens
  revoked: boolean
}
interface Model {
  readonly sessions: Array<Session>
  role: "user" | "admin"
  password: string
  passwordChanges: number
}
interface Real {
  readonly email: string
  readonly userId: string
  readonly adminToken: string
}

const roleIn = (accessToken: string) =>
  JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString("utf8")).role as string

/** The invariants, checked after every command. */
const checkAll = async (model: Model) => {
  for (const [i, session] of model.sessions.entries()) {
    const me = await attempt(api(session.tokens.accessToken).me.get())
    if (session.revoked) {
      expect(me._tag, `revoked session ${i} still authenticates`).toBe("Failure")
    } else {
      expect(me._tag, `session ${i}, never revoked, is refused`).toBe("Success")
      expect(roleIn(session.tokens.accessToken)).toBe(model.role)
    }
  }
}

/** The open session a command acts on, chosen by an index modulo the sessions. */
const pick = (model: Model, index: number) => model.sessions[index % model.sessions.length]

class SignIn implements fc.AsyncCommand<Model, Real> {
  check = (model: Readonly<Model>) => model.sessions.length < 8
  async run(model: Model, real: Real) {
    const signedIn = await ok(api().auth.login({ payload: { email: real.email, password: model.password } }))
    expect(signedIn.user.role).toBe(model.role)
    model.sessions.push({ tokens: signedIn.tokens, revoked: false })
    await checkAll(model)
  }
  toString = () => "signIn"
}

class Refresh implements fc.AsyncCommand<Model, Real> {
  readonly index: number
  constructor(index: number) {
    this.index = index
  }
  check = (model: Readonly<Model>) => model.sessions.length > 0
  async run(model: Model) {
    const session = pick(model, this.index)!
    const refreshed = await attempt(api().auth.refresh({ payload: { refreshToken: session.tokens.refreshToken } }))
    if (session.revoked) {
      expect(refreshed._tag, "a revoked session refreshed").toBe("Failure")
    } else {
      if (refreshed._tag !== "Success") throw new Error(`refresh of an open session refused: ${JSON.stringify(refreshed)}`)
      session.tokens = refreshed.value.tokens
    }
    await checkAll(model)
  }
  toString = () => `refresh(${this.index})`
}

class RefreshTwiceAtOnce implements fc.AsyncCommand<Model, Real> {
  readonly index: number
  constructor(index: number) {
    this.index = index
  }
  check = (model: Readonly<Model>) => model.sessions.length > 0
  async run(model: Model) {
    const session = pick(model, this.index)!
    const refresh = () => attempt(api().auth.refresh({ payload: { refreshToken: session.tokens.refreshToken } }))
    const [first, second] = await Promise.all([refresh(), refresh()])
    if (session.revoked) {
      expect([first._tag, second._tag]).toEqual(["Failure", "Failure"])
    } else {
      if (first._tag !== "Success" || second._tag !== "Success") throw new Error("a concurrent refresh of an open session was refused")
      // Whichever answer the client keeps, it holds the one current token.
      expect(second.value.tokens.refreshToken).toBe(first.value.tokens.refreshToken)
      session.tokens = second.value.tokens
    }
    await checkAll(model)
  }
  toString = () => `refreshTwiceAtOnce(${this.index})`
}

class Logout implements fc.AsyncCommand<Model, Real> {
  readonly index: number
  constructor(index: number) {
    this.index = index
  }
  check = (model: Readonly<Model>) => model.sessions.length > 0
  async run(model: Model) {
    const session = pick(model, this.index)!
    const result = await attempt(api(session.tokens.accessToken).auth.logout())
    expect(result._tag).toBe(session.revoked ? "Failure" : "Success")
    session.revoked = true
    await checkAll(model)
  }
  toString = () => `logout(${this.index})`
}

class ChangePassword implements fc.AsyncCommand<Model, Real> {
  readonly index: number
  constructor(index: number) {
    this.index = index
  }
  check = (model: Readonly<Model>) => model.sessions.length > 0
  async run(model: Model) {
    const session = pick(model, this.index)!
    const next = `correct horse battery ${++model.passwordChanges}`
    const result = await attempt(
      api(session.tokens.accessToken).me.changePassword({ payload: { currentPassword: model.password, newPassword: next } })
    )
    if (session.revoked) {
      expect(result._tag).toBe("Failure")
    } else {
      expect(result._tag).toBe("Success")
      model.password = next
      for (const other of model.sessions) if (other !== session) other.revoked = true
    }
    await checkAll(model)
  }
  toString = () => `changePassword(${this.index})`
}

class ChangeRole implements fc.AsyncCommand<Model, Real> {
  check = () => true
  async run(model: Model, real: Real) {
    const role = model.role === "user" ? "admin" : "user"
    await ok(api(real.adminToken).admin.updateUser({ params: { id: real.userId as never }, payload: { role } }))
    model.role = role
    for (const session of model.sessions) session.revoked = true
    await checkAll(model)
  }
  toString = () => "changeRole"
}

const commands = fc.commands([
  fc.constant(new SignIn()),
  fc.nat(7).map((i) => new Refresh(i)),
  fc.nat(7).map((i) => new RefreshTwiceAtOnce(i)),
  fc.nat(7).map((i) => new Logout(i)),
  fc.nat(7).map((i) => new ChangePassword(i)),
  fc.constant(new ChangeRole())
], { maxCommands: 14 })

let run = 0
it("the session life cycle keeps its invariants under any sequence of commands", async () => {
  const admin = await ok(api().auth.register({ payload: { email: "model-admin@example.com", password: "correct horse battery", fullName: "Admin" } }), 201)
  await query(`UPDATE users SET role = 'admin' WHERE id = '${admin.user.id}'`)
  const adminToken = (await ok(api().auth.login({ payload: { email: "model-admin@example.com", password: "correct horse battery" } }))).tokens.accessToken
  await fc.assert(
    fc.asyncProperty(commands, async (sequence) => {
      const email = `model${run++}@example.com`
      const user = await ok(api().auth.register({ payload: { email, password: "correct horse battery", fullName: "Model" } }), 201)
      const model: Model = {
        sessions: [{ tokens: user.tokens, revoked: false }],
        role: "user",
        password: "correct horse battery",
        passwordChanges: 0
      }
      await fc.asyncModelRun(() => ({ model, real: { email, userId: user.user.id, adminToken } }), sequence)
    }),
    { numRuns: 25 }
  )
}, 180_000)
