import { randomBytes } from "node:crypto"
import { createServer, type AddressInfo, type Server, type Socket } from "node:net"
import { Duration, Effect, Layer, Logger, Redacted, References } from "effect"
import { SMTPServer } from "smtp-server"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import * as Mailer from "../../src/capabilities/mail/Mailer.ts"
import { parseMail as parse } from "../support/smtp.ts"

/**
 * The real nodemailer, through the real capability layer, against real SMTP servers started
 * here on loopback: `smtp-server` requiring authentication, a server that accepts TCP and never
 * speaks, one that stops answering mid-conversation, and a port nobody listens on.
 */

const USER = "customify-mailer"
// Characters that must be percent-encoded in SMTP_URL: the layer has to decode them.
const PASSWORD = "p@ss/w:rd %42 ünïcode"
const FROM = "Customify <no-reply@customify.app>"

interface Received {
  readonly raw: string
  readonly user: unknown
  readonly mailFrom: string | false
  readonly rcptTo: ReadonlyArray<string>
}

const received: Array<Received> = []
const connections = { opened: 0, closed: 0 }

const smtp = new SMTPServer({
  name: "smtp.test",
  authMethods: ["PLAIN", "LOGIN"],
  authOptional: false,
  // Plain TCP on loopback: no STARTTLS (a self-signed certificate), so AUTH is allowed without TLS.
  disabledCommands: ["STARTTLS"],
  allowInsecureAuth: true,
  disableReverseLookup: true,
  logger: false,
  onConnect: (_session, callback) => {
    connections.opened++
    callback()
  },
  onClose: () => {
    connections.closed++
  },
  onAuth: (auth, _session, callback) => {
    if (auth.username === USER && auth.password === PASSWORD) return callback(null, { user: auth.username })
    callback(Object.assign(new Error("5.7.8 Authentication credentials invalid"), { responseCode: 535 }))
  },
  onRcptTo: (address, _session, callback) => {
    if (address.address.startsWith("nobody@")) {
      return callback(Object.assign(new Error(`5.1.1 <${address.address}>: mailbox unavailable`), { responseCode: 550 }))
    }
    callback()
  },
  onData: (stream, session, callback) => {
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("end", () => {
      received.push({
        raw: Buffer.concat(chunks).toString("latin1"),
        user: session.user,
        mailFrom: session.envelope.mailFrom === false ? false : session.envelope.mailFrom.address,
        rcptTo: session.envelope.rcptTo.map((address) => address.address)
      })
      callback()
    })
  }
})

/** Accepts connections and never says a word. */
const sockets = new Set<Socket>()
const silent: Server = createServer((socket) => {
  sockets.add(socket)
  socket.on("close", () => sockets.delete(socket))
})

/** Greets, answers EHLO, then answers nothing more. */
const stalledOpen = { count: 0 }
const stalling: Server = createServer((socket) => {
  stalledOpen.count++
  socket.on("close", () => stalledOpen.count--)
  socket.on("error", () => undefined)
  socket.write("220 stall.test ESMTP\r\n")
  socket.on("data", (chunk: Buffer) => {
    if (/^EHLO /i.test(chunk.toString())) socket.write("250-stall.test\r\n250 AUTH PLAIN LOGIN\r\n")
  })
})

const listen = (server: { listen: (port: number, host: string, callback: () => void) => unknown }) =>
  new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const portOf = (server: Server) => (server.address() as AddressInfo).port

let smtpPort = 0
let silentPort = 0
let stallingPort = 0
let closedPort = 0

beforeAll(async () => {
  await listen(smtp)
  await listen(silent)
  await listen(stalling)
  smtpPort = portOf(smtp.server)
  silentPort = portOf(silent)
  stallingPort = portOf(stalling)
  // A port that was free a moment ago and has no listener now.
  const probe = createServer()
  await listen(probe)
  closedPort = portOf(probe)
  await new Promise((resolve) => probe.close(resolve))
})
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await new Promise((resolve) => smtp.close(() => resolve(undefined)))
  await new Promise((resolve) => silent.close(resolve))
  stalling.close()
})
beforeEach(() => {
  received.length = 0
})

const credentials = `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}`
const smtpUrl = (password = PASSWORD) => `smtp://${encodeURIComponent(USER)}:${encodeURIComponent(password)}@127.0.0.1:${smtpPort}`

const token = () => randomBytes(32).toString("base64url")
const resetMail = (to: string, secret: string): Mailer.MailMessage => ({
  to,
  subject: "Reset your Customify password",
  text: `To choose a new password, open this link (it works once, until 2030-01-01T00:00:00.000Z):\n\n` +
    `https://dashboard.customify.app/reset-password?token=${secret}\n\nIf you did not ask for this, ignore this mail.\n`
})

/** What the production JSON logger prints, captured, at every level. */
const logged: Array<string> = []
const captureLogs = Layer.merge(
  Logger.layer([Logger.map(Logger.formatJson, (line) => void logged.push(line))]),
  Layer.succeed(References.MinimumLogLevel, "All")
)

/** Builds the SMTP layer (its own pool), sends each message in turn, closes the layer. */
const sendAll = (url: string, messages: ReadonlyArray<Mailer.MailMessage>, options: Partial<Mailer.SmtpOptions> = {}) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const mailer = yield* Mailer.Mailer
      return yield* Effect.forEach(messages, (message) => Effect.result(mailer.send(message)))
    }).pipe(Effect.provide(Layer.merge(Mailer.layerSmtp({ url: Redacted.make(url), from: FROM, ...options }), captureLogs)))
  )

const sendOne = async (url: string, message: Mailer.MailMessage, options: Partial<Mailer.SmtpOptions> = {}) =>
  (await sendAll(url, [message], options))[0]!

/** Sends and expects a MailError; its cause, with how long the send took. */
const failure = async (url: string, message: Mailer.MailMessage, options: Partial<Mailer.SmtpOptions> = {}) => {
  const started = performance.now()
  const result = await sendOne(url, message, options)
  const elapsed = performance.now() - started
  if (result._tag === "Success") throw new Error("expected the send to fail")
  expect(result.failure).toBeInstanceOf(Mailer.MailError)
  expect(result.failure.cause).toBeInstanceOf(Mailer.SmtpFailure)
  return { cause: result.failure.cause as Mailer.SmtpFailure, elapsed }
}

const waitFor = async (condition: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return condition()
}

describe("Mailer.layerSmtp against a real SMTP server", () => {
  it("delivers From, To, Subject and the text with the reset link intact, authenticated as SMTP_URL's user", async () => {
    const secret = token()
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const message = resetMail("jane.doe@example.com", secret)
    logged.length = 0
    const result = await sendOne(smtpUrl(), message)
    expect(result._tag).toBe("Success")

    expect(received).toHaveLength(1)
    const [mail] = received
    expect(mail!.user).toBe(USER)
    expect(mail!.mailFrom).toBe("no-reply@customify.app")
    expect(mail!.rcptTo).toEqual(["jane.doe@example.com"])
    const { headers, text } = parse(mail!.raw)
    expect(headers.get("from")).toBe(FROM)
    expect(headers.get("to")).toBe("jane.doe@example.com")
    expect(headers.get("subject")).toBe("Reset your Customify password")
    expect(headers.get("content-type")).toMatch(/^text\/plain/)
    // The decoded text is the text sent, the link on a line of its own with the whole token.
    expect(text.trimEnd()).toBe(message.text.trimEnd())
    expect(text.split("\n")).toContain(`https://dashboard.customify.app/reset-password?token=${secret}`)

    // The logs say a mail went out, to a masked address, and never carry its text.
    expect(logged.some((line) => line.includes("j***@example.com"))).toBe(true)
    expect(logged.join("\n")).not.toContain(secret)
    expect(logged.join("\n")).not.toContain("jane.doe@")
  })

  it("keeps one pooled connection for many mails and closes it when the layer's scope closes", async () => {
    const before = { ...connections }
    const results = await sendAll(smtpUrl(), [
      resetMail("a@example.com", token()),
      resetMail("b@example.com", token()),
      resetMail("c@example.com", token())
    ])
    expect(results.map((result) => result._tag)).toEqual(["Success", "Success", "Success"])
    expect(received.map((mail) => mail.rcptTo[0])).toEqual(["a@example.com", "b@example.com", "c@example.com"])
    expect(connections.opened - before.opened).toBe(1)
    // Closed with the scope, not left to the pool's 60 s idle timeout.
    expect(await waitFor(() => connections.closed - before.closed === 1, 3_000)).toBe(true)
  })

  it("with requireTls, a server that offers no STARTTLS gets neither the password nor the mail", async () => {
    const { cause } = await failure(smtpUrl(PASSWORD), resetMail("jane@example.com", token()), { requireTls: true })
    expect(cause.code).toBe("ETLS")
    expect(received).toEqual([])
  })

  it("a wrong password is a MailError (EAUTH) and nothing is delivered", async () => {
    const { cause } = await failure(smtpUrl("not-the-password"), resetMail("jane@example.com", token()))
    expect(cause.code).toBe("EAUTH")
    expect(cause.responseCode).toBe(535)
    expect(received).toEqual([])
  })

  it("without credentials the server refuses the mail: a MailError, nothing delivered", async () => {
    const { cause } = await failure(`smtp://127.0.0.1:${smtpPort}`, resetMail("jane@example.com", token()))
    expect(cause.responseCode).toBe(530)
    expect(received).toEqual([])
  })

  it("a recipient the server refuses (550) is a MailError whose message masks the address", async () => {
    const { cause } = await failure(smtpUrl(), resetMail("nobody@example.com", token()))
    expect(cause.code).toBe("EENVELOPE")
    expect(cause.responseCode).toBe(550)
    expect(cause.message).toContain("n***@example.com")
    expect(cause.message).not.toContain("nobody@")
    expect(received).toEqual([])
  })

  it("a server that accepts TCP and never greets is a MailError within the greeting timeout", async () => {
    const { cause, elapsed } = await failure(
      `smtp://${credentials}@127.0.0.1:${silentPort}`,
      resetMail("jane@example.com", token()),
      { greetingTimeout: Duration.millis(300) }
    )
    expect(cause.code).toBe("ETIMEDOUT")
    expect(elapsed).toBeLessThan(3_000)
  })

  it("with the default timeouts too, a silent server fails within seconds instead of hanging", async () => {
    const { cause, elapsed } = await failure(`smtp://${credentials}@127.0.0.1:${silentPort}`, resetMail("jane@example.com", token()))
    expect(cause.code).toBe("ETIMEDOUT")
    expect(elapsed).toBeLessThan(15_000)
  }, 25_000)

  it("a server that stops answering mid-conversation is cut off by the send deadline, its connection dropped", async () => {
    const { cause, elapsed } = await failure(
      `smtp://${credentials}@127.0.0.1:${stallingPort}`,
      resetMail("jane@example.com", token()),
      { socketTimeout: Duration.seconds(20), sendTimeout: Duration.millis(500) }
    )
    expect(cause.code).toBe("ETIMEDOUT")
    expect(elapsed).toBeLessThan(3_000)
    expect(await waitFor(() => stalledOpen.count === 0, 3_000)).toBe(true)
  })

  it("a server that is down is a MailError at once", async () => {
    const { cause, elapsed } = await failure(`smtp://${credentials}@127.0.0.1:${closedPort}`, resetMail("jane@example.com", token()))
    expect(cause.code).toBe("ESOCKET")
    expect(elapsed).toBeLessThan(2_000)
  })
})
