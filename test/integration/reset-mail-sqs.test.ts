import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Option, Redacted, Scope } from "effect"
import { SqlClient } from "effect/sql"
import { afterAll, beforeAll, expect, it } from "vitest"
import { makeTestApp, recordingMailer } from "../support/app.ts"
import { freshDatabase, realDatabaseUrl, realRedisUrl } from "../support/database.ts"
import { sleep } from "../support/faults.ts"
import { startSqsStub } from "../support/sqs-stub.ts"
import { ok, typedClient } from "../support/typedClient.ts"

/**
 * Review of issue 13. With SQS (SQS_QUEUE_URL), the reset job is sent during the request's
 * transaction, before its commit. A worker that receives it before the commit finds no request
 * row, takes it for "superseded or spent", skips it, and the job is deleted as done: the mail is
 * never sent. (`account.cleanup` handles the same race by failing so the job is retried.)
 * A slow commit is simulated by a deferred constraint trigger that sleeps at commit time.
 */
const scope = Effect.runSync(Scope.make())
const mailer = recordingMailer()
let stub: Awaited<ReturnType<typeof startSqsStub>>
let app: ReturnType<typeof makeTestApp>
let databaseUrl: string
const api = typedClient(() => app)

const query = (statement: string) =>
  Effect.runPromise(Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql.unsafe(statement)
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(databaseUrl), maxConnections: 1 }))))

beforeAll(async () => {
  const serverUrl = realDatabaseUrl()
  if (serverUrl === undefined) throw new Error("needs real PostgreSQL")
  databaseUrl = await Effect.runPromise(Scope.provide(freshDatabase(serverUrl), scope))
  stub = await startSqsStub()
  process.env["AWS_ACCESS_KEY_ID"] = "test"
  process.env["AWS_SECRET_ACCESS_KEY"] = "test"
  app = makeTestApp({
    databaseUrl,
    redisUrl: realRedisUrl(),
    worker: true,
    overrides: mailer.layer,
    config: { sqsQueueUrl: Option.some(stub.queueUrl("core")), sqsEndpoint: Option.some(stub.endpoint) }
  })
}, 60_000)
afterAll(async () => {
  await app?.dispose()
  await stub?.stop()
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

it("(control) with a prompt commit the mail goes out through SQS", async () => {
  const email = `review13-sqs-control-${Date.now()}@example.com`
  await ok(api().auth.register({ payload: { email, password: "correct horse battery", fullName: "Sqs" } }), 201)
  await ok(api().auth.requestPasswordReset({ payload: { email } }), 202)
  let tokens: ReadonlyArray<string> = []
  for (let i = 0; i < 40 && tokens.length === 0; i++) {
    await sleep(250)
    tokens = await mailer.resetTokens(email)
  }
  expect(tokens).toHaveLength(1)
}, 60_000)

it("a reset job delivered before its request committed is retried, not dropped: the mail goes out", async () => {
  const email = `review13-sqs-${Date.now()}@example.com`
  await ok(api().auth.register({ payload: { email, password: "correct horse battery", fullName: "Sqs" } }), 201)
  // The commit of a reset request takes 1 s (a slow fsync, a synchronous standby...).
  await query(`
    CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN PERFORM pg_sleep(1); RETURN NULL; END $$`)
  await query(`
    CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON password_reset_requests
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()`)
  await ok(api().auth.requestPasswordReset({ payload: { email } }), 202)
  let tokens: ReadonlyArray<string> = []
  for (let i = 0; i < 40 && tokens.length === 0; i++) {
    await sleep(250)
    tokens = await mailer.resetTokens(email)
  }
  expect({ mails: tokens.length, leftInQueue: stub.messages("core").length }, "the reset mail was dropped").toMatchObject({ mails: 1 })
}, 60_000)
