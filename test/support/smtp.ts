import type { AddressInfo } from "node:net"
import { SMTPServer } from "smtp-server"

export interface ReceivedMail {
  readonly to: ReadonlyArray<string>
  readonly headers: Map<string, string>
  readonly text: string
}

/** The headers (unfolded) and the decoded text of a single-part message. */
export const parseMail = (raw: string) => {
  const split = raw.indexOf("\r\n\r\n")
  const headers = new Map<string, string>()
  for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const colon = line.indexOf(":")
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim())
  }
  const body = raw.slice(split + 4)
  const encoding = (headers.get("content-transfer-encoding") ?? "7bit").toLowerCase()
  const bytes = encoding === "quoted-printable"
    ? Buffer.from(body.replace(/=\r\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1")
    : encoding === "base64"
    ? Buffer.from(body, "base64")
    : Buffer.from(body, "latin1")
  return { headers, text: bytes.toString("utf8").replace(/\r\n/g, "\n") }
}

/**
 * A real SMTP server on loopback that requires `user`/`password` and keeps what it receives;
 * `refuseNext` makes it answer the next messages with a temporary failure (451).
 */
export const startSmtpSink = async (user = "customify", password = "smtp secret") => {
  const received: Array<ReceivedMail> = []
  const state = { refuseNext: 0 }
  const server = new SMTPServer({
    authMethods: ["PLAIN", "LOGIN"],
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    disableReverseLookup: true,
    logger: false,
    onAuth: (auth, _session, callback) =>
      auth.username === user && auth.password === password
        ? callback(null, { user })
        : callback(Object.assign(new Error("5.7.8 Authentication failed"), { responseCode: 535 })),
    onData: (stream, session, callback) => {
      const chunks: Array<Buffer> = []
      stream.on("data", (chunk: Buffer) => chunks.push(chunk))
      stream.on("end", () => {
        if (state.refuseNext > 0) {
          state.refuseNext--
          return callback(Object.assign(new Error("4.3.0 Try again later"), { responseCode: 451 }))
        }
        received.push({ to: session.envelope.rcptTo.map((address) => address.address), ...parseMail(Buffer.concat(chunks).toString("latin1")) })
        callback()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.server.address() as AddressInfo).port
  return {
    url: `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    received,
    state,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
