import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sleep } from "../support/faults.ts"
import { client, uniqueEmail } from "../support/http.ts"
import { sharedApps } from "../support/sharedApps.ts"
import { attempt, failsWithProblem, ok, typedClient } from "../support/typedClient.ts"

/**
 * The signed-in devices: listed with what they said they were, and signed out one by one, at
 * once, on every instance (two apps sharing real PostgreSQL and Redis).
 */
const apps = sharedApps(2)
beforeAll(apps.start, 60_000)
afterAll(apps.stop)
const a = typedClient(() => apps.app(0))
const b = typedClient(() => apps.app(1))
const rawA = client(() => apps.app(0))

/** Longer than the in-process liveness cache of the instance that did not revoke (500 ms). */
const LOCAL_CACHE = 600
const PASSWORD = "correct horse battery"
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

const register = async () => {
  const email = uniqueEmail()
  const { tokens, user } = await ok(a({ headers: { "user-agent": FIREFOX } }).auth.register({ payload: { email, password: PASSWORD, fullName: "D" } }), 201)
  return { email, user, laptop: tokens }
}
const signIn = async (email: string, userAgent: string) =>
  (await ok(b({ headers: { "user-agent": userAgent } }).auth.login({ payload: { email, password: PASSWORD } }))).tokens

const sessionIdOf = (accessToken: string) =>
  JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString()).sid as string

describe("GET /api/v1/users/me/sessions", () => {
  it("lists the open sessions, most recently used first, with their User-Agent, its description and current", async () => {
    const { email, laptop } = await register()
    const phone = await signIn(email, IPHONE)
    const listed = await ok(a(laptop.accessToken).me.listSessions())
    expect(listed.data).toHaveLength(2)
    expect(listed.data.map((s) => s.userAgent)).toEqual([IPHONE, FIREFOX])
    expect(listed.data.map((s) => s.description)).toEqual(["Safari on iOS", "Firefox on Linux"])
    expect(listed.data.map((s) => s.current)).toEqual([false, true])
    expect(listed.data[1]!.id).toBe(sessionIdOf(laptop.accessToken))
    // The phone sees the same two, its own marked current.
    const fromPhone = await ok(b(phone.accessToken).me.listSessions())
    expect(fromPhone.data.map((s) => [s.id, s.current])).toEqual(listed.data.map((s) => [s.id, !s.current]))
    // A refresh moves the laptop to the top (last used).
    const refreshed = await ok(a().auth.refresh({ payload: { refreshToken: laptop.refreshToken } }))
    const after = await ok(a(refreshed.tokens.accessToken).me.listSessions())
    expect(after.data[0]!.id).toBe(sessionIdOf(laptop.accessToken))
    expect(after.data[0]!.lastUsedAt.getTime()).toBeGreaterThan(after.data[0]!.createdAt.getTime())
  })
})

describe("DELETE /api/v1/users/me/sessions/{id}", () => {
  it("signs the other device out at once on both instances: its access token and its refresh token are refused", async () => {
    const { email, laptop } = await register()
    const phone = await signIn(email, IPHONE)
    // Both instances have seen the phone's session alive (their caches say so).
    await ok(a(phone.accessToken).me.get())
    await ok(b(phone.accessToken).me.get())
    await ok(a(laptop.accessToken).me.deleteSession({ params: { sessionId: sessionIdOf(phone.accessToken) } }), 204)
    // The instance that signed it out refuses it at once; the other within its 500 ms local cache.
    await failsWithProblem(a(phone.accessToken).me.get(), "Unauthorized", 401, "session_revoked")
    await sleep(LOCAL_CACHE)
    await failsWithProblem(b(phone.accessToken).me.get(), "Unauthorized", 401, "session_revoked")
    for (const instance of [a, b]) {
      expect((await attempt(instance().auth.refresh({ payload: { refreshToken: phone.refreshToken } })))._tag).toBe("Failure")
    }
    // The laptop stays signed in, and the list no longer shows the phone.
    expect((await ok(b(laptop.accessToken).me.listSessions())).data.map((s) => s.current)).toEqual([true])
    // Signing it out again: 404 (it is not an open session any more).
    await failsWithProblem(a(laptop.accessToken).me.deleteSession({ params: { sessionId: sessionIdOf(phone.accessToken) } }), "NotFound", 404, "not_found")
  })

  it("the current session may be ended too: the caller is signed out", async () => {
    const { laptop } = await register()
    await ok(b(laptop.accessToken).me.get())
    await ok(a(laptop.accessToken).me.deleteSession({ params: { sessionId: sessionIdOf(laptop.accessToken) } }), 204)
    await failsWithProblem(a(laptop.accessToken).me.get(), "Unauthorized", 401, "session_revoked")
    await sleep(LOCAL_CACHE)
    await failsWithProblem(b(laptop.accessToken).me.get(), "Unauthorized", 401, "session_revoked")
    expect((await attempt(b().auth.refresh({ payload: { refreshToken: laptop.refreshToken } })))._tag).toBe("Failure")
  })

  it("another user's session answers 404, never 403, and stays open; so do unknown ids and other spellings", async () => {
    const victim = await register()
    const attacker = await register()
    const victimSession = sessionIdOf(victim.laptop.accessToken)
    await failsWithProblem(a(attacker.laptop.accessToken).me.deleteSession({ params: { sessionId: victimSession } }), "NotFound", 404, "not_found")
    // Session ids are case-sensitive random strings: another spelling is another (unknown) id.
    const swapped = [...victimSession].map((c) => c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()).join("")
    for (const id of [swapped, "A".repeat(22)]) {
      const answer = await rawA("DELETE", `/api/v1/users/me/sessions/${id}`, { token: victim.laptop.accessToken })
      expect(answer.status, id).toBe(404)
    }
    // Not a session id at all: 400.
    expect((await rawA("DELETE", "/api/v1/users/me/sessions/not-an-id", { token: victim.laptop.accessToken })).status).toBe(400)
    await sleep(LOCAL_CACHE)
    await ok(b(victim.laptop.accessToken).me.get())
    await ok(a().auth.refresh({ payload: { refreshToken: victim.laptop.refreshToken } }))
  })
})
