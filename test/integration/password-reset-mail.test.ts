import { Effect, Exit, Option, Redacted, Scope } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeTestApp } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { waitFor } from "../support/faults.ts"
import { startSmtpSink } from "../support/smtp.ts"
import { failure, ok, typedClient } from "../support/typedClient.ts"

/**
 * The whole reset flow as deployed: the API records the request and enqueues a job on the
 * PostgreSQL queue, its worker mints the token and sends the mail through SMTP (nodemailer) to
 * a real SMTP server, and the link in the mail received resets the password.
 */
const scope = Effect.runSync(Scope.make())
let app: ReturnType<typeof makeTestApp>
let smtp: Awaited<ReturnType<typeof startSmtpSink>>
const api = typedClient(() => app)
const RESET_PAGE = "https://dashboard.customify.test/reset-password"

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
  const databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  smtp = await startSmtpSink()
  app = makeTestApp({
    databaseUrl,
    redisUrl: realRedisUrl(),
    worker: true,
    config: { smtpUrl: Option.some(Redacted.make(smtp.url)), mailFrom: "Customify <no-reply@customify.test>", passwordResetUrl: RESET_PAGE }
  })
}, 60_000)
afterAll(async () => {
  await app?.dispose()
  await smtp?.stop()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

const mailsTo = (email: string) => smtp.received.filter((mail) => mail.to.includes(email))
const tokenIn = (text: string) => {
  const link = text.split(/\s/).find((word) => word.startsWith(RESET_PAGE))
  return link === undefined ? undefined : new URL(link).searchParams.get("token") ?? undefined
}

it("mails a link through SMTP whose token resets the password, once", async () => {
  const email = `smtp-reset-${Date.now()}@example.com`
  const user = await ok(api().auth.register({ payload: { email, password: "correct horse battery", fullName: "Mail" } }), 201)
  await ok(api().auth.requestPasswordReset({ payload: { email } }), 202)
  const mail = await waitFor("the reset mail", 15_000, () => mailsTo(email)[0])
  expect(mail.headers.get("from")).toContain("no-reply@customify.test")
  expect(mail.headers.get("subject")).toBe("Reset your Customify password")
  const token = tokenIn(mail.text)
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)

  await ok(api().auth.confirmPasswordReset({ payload: { token: token!, newPassword: "a new secret from the mail" } }), 204)
  await ok(api().auth.login({ payload: { email, password: "a new secret from the mail" } }))
  await failure(api(user.tokens.accessToken).me.get(), "Unauthorized")
  await failure(api().auth.confirmPasswordReset({ payload: { token: token!, newPassword: "once more" } }), "InvalidResetToken")
}, 60_000)

it("retries a mail the SMTP server refused for now; the delivered link works", async () => {
  const email = `smtp-retry-${Date.now()}@example.com`
  await ok(api().auth.register({ payload: { email, password: "correct horse battery", fullName: "Retry" } }), 201)
  smtp.state.refuseNext = 1
  await ok(api().auth.requestPasswordReset({ payload: { email } }), 202)
  const mail = await waitFor("the retried reset mail", 20_000, () => mailsTo(email)[0])
  expect(smtp.state.refuseNext).toBe(0)
  expect(mailsTo(email)).toHaveLength(1)
  await ok(api().auth.confirmPasswordReset({ payload: { token: tokenIn(mail.text)!, newPassword: "a new secret after a retry" } }), 204)
}, 60_000)
