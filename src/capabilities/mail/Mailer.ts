import { Context, Data, Duration, Effect, Layer, Option, Redacted, Ref } from "effect"
import { AppConfig, parseSmtpUrl } from "../../config/AppConfig.ts"

/** One plain-text mail to one recipient. */
export interface MailMessage {
  readonly to: string
  readonly subject: string
  readonly text: string
}

/**
 * The mail was not handed over: no connection, no greeting, refused credentials, a refused
 * recipient, a timeout. The job that sends it retries, then dead-letters it. `cause` is an
 * `SmtpFailure` for the SMTP layer: addresses masked, never the message text.
 */
export class MailError extends Data.TaggedError("MailError")<{ readonly cause: unknown }> {}

/** Outgoing mail: SMTP when SMTP_URL is set, the log otherwise (development), memory in tests. */
export class Mailer extends Context.Service<Mailer, {
  /** For the start-up log: which backend, never a credential (`smtp mail.example.com:587`). */
  readonly description: string
  readonly send: (message: MailMessage) => Effect.Effect<void, MailError>
}>()("customify/capabilities/mail/Mailer") {}

/** `jane@example.com` → `j***@example.com`. */
export const maskEmail = (email: string): string => email.replace(/^(.)[^@]*(@.*)$/, "$1***$2")

const maskAddresses = (text: string): string => text.replace(/[^\s<>"'(),;:[\]]+@[^\s<>"'(),;:[\]]+/g, maskEmail)

/** What went wrong in an SMTP exchange, fit for the logs: the addresses in it masked, no message text. */
export class SmtpFailure extends Error {
  /** nodemailer's code: `ECONNECTION`, `ETIMEDOUT`, `EAUTH`, `EENVELOPE`, `EMESSAGE`, `EABORT`, ... */
  readonly code: string | undefined
  /** The server's reply code, e.g. 535 (bad credentials) or 550 (recipient refused). */
  readonly responseCode: number | undefined
  /** The SMTP command that failed (`CONN`, `AUTH PLAIN`, `RCPT TO`, `DATA`, ...). */
  readonly command: string | undefined
  constructor(options: { message: string; code?: string | undefined; responseCode?: number | undefined; command?: string | undefined }) {
    super(maskAddresses(options.message))
    this.name = "SmtpFailure"
    this.code = options.code
    this.responseCode = options.responseCode
    this.command = options.command
  }
}

const smtpFailure = (error: unknown): SmtpFailure => {
  const fields = typeof error === "object" && error !== null ? error as Record<string, unknown> : {}
  const text = (value: unknown) => typeof value === "string" ? value : undefined
  return new SmtpFailure({
    message: error instanceof Error ? error.message : String(error),
    code: text(fields["code"]),
    responseCode: typeof fields["responseCode"] === "number" ? fields["responseCode"] : undefined,
    command: text(fields["command"])
  })
}

// ---- SMTP ---------------------------------------------------------------------------------------

export interface SmtpOptions {
  /** `smtp://user:pass@host:port` (STARTTLS when offered) or `smtps://…` (TLS from the start). */
  readonly url: Redacted.Redacted
  /** The From header and envelope sender. */
  readonly from: string
  /** To open the TCP (and TLS) connection. Default 10 s. */
  readonly connectionTimeout?: Duration.Duration | undefined
  /** For the server's greeting once connected: a server that accepts and says nothing. Default 10 s. */
  readonly greetingTimeout?: Duration.Duration | undefined
  /** Of silence on an open connection. Default 20 s. */
  readonly socketTimeout?: Duration.Duration | undefined
  /**
   * Bounds one `send` end to end (waiting for a pooled connection, a server trickling its
   * replies); the delivery is aborted. Default 30 s, well inside SQS's 60 s visibility.
   */
  readonly sendTimeout?: Duration.Duration | undefined
  /**
   * Refuse to go on over `smtp://` unless the server upgrades the connection with STARTTLS: on a
   * network someone could otherwise strip the offer and read the password and the reset links.
   */
  readonly requireTls?: boolean | undefined
}

const millis = (duration: Duration.Duration | undefined, fallback: Duration.Duration) =>
  Math.max(1, Duration.toMillis(duration ?? fallback))

/**
 * Over nodemailer: one pool of SMTP connections for the layer's lifetime (closed with its
 * scope), every failure a `MailError`, never a hang. nodemailer is imported here, so processes
 * without SMTP_URL never load it; its own logger stays off (it would print message data).
 */
export const layerSmtp = (options: SmtpOptions): Layer.Layer<Mailer> =>
  Layer.effect(Mailer, Effect.gen(function*() {
    const endpoint = parseSmtpUrl(Redacted.value(options.url))
    // Configuration refuses such a URL before any layer is built; the URL holds a password, so it is not printed.
    if (endpoint === undefined) return yield* Effect.die(new Error("SMTP_URL is not an smtp:// or smtps:// URL"))
    const { default: nodemailer } = yield* Effect.promise(() => import("nodemailer"))
    const transport = yield* Effect.acquireRelease(
      Effect.sync(() =>
        nodemailer.createTransport({
          pool: true,
          // The worker sends one mail at a time: two connections are plenty.
          maxConnections: 2,
          // Servers commonly drop idle sessions after a minute or so; close ours first.
          idleTimeout: 60_000,
          host: endpoint.host,
          port: endpoint.port,
          secure: endpoint.secure,
          requireTLS: options.requireTls === true && !endpoint.secure,
          ...(endpoint.auth === undefined ? {} : { auth: { user: endpoint.auth.user, pass: Redacted.value(endpoint.auth.pass) } }),
          connectionTimeout: millis(options.connectionTimeout, Duration.seconds(10)),
          greetingTimeout: millis(options.greetingTimeout, Duration.seconds(10)),
          socketTimeout: millis(options.socketTimeout, Duration.seconds(20)),
          dnsTimeout: millis(options.connectionTimeout, Duration.seconds(10)),
          logger: false,
          debug: false,
          // Messages are plain text we compose: no attachment may read a file or fetch a URL.
          disableFileAccess: true,
          disableUrlAccess: true
        })
      ),
      (transport) => Effect.sync(() => transport.close())
    )
    const sendTimeout = options.sendTimeout ?? Duration.seconds(30)

    const send = Effect.fn("Mailer.send")(function*(message: MailMessage) {
      const to = maskEmail(message.to)
      yield* Effect.annotateCurrentSpan({ "mail.to": to })
      yield* Effect.tryPromise({
        // Interruption (the timeout below, a shutdown) aborts the delivery through the signal.
        try: (signal) =>
          transport.sendMail({ from: options.from, to: message.to, subject: message.subject, text: message.text, signal }),
        catch: (error) => new MailError({ cause: smtpFailure(error) })
      }).pipe(
        Effect.timeoutOrElse({
          duration: sendTimeout,
          orElse: () =>
            Effect.fail(
              new MailError({
                cause: new SmtpFailure({ message: `no answer within ${Duration.format(sendTimeout)}`, code: "ETIMEDOUT" })
              })
            )
        })
      )
      yield* Effect.logDebug(`mail: sent to ${to}`)
    })

    return Mailer.of({ description: endpoint.description, send })
  }))

// ---- Log (development) ----------------------------------------------------------------------------

/**
 * No SMTP_URL (development only: production refuses to start without it): each mail is logged
 * whole, its text included, so a developer finds the reset link in the log.
 */
export const layerLog: Layer.Layer<Mailer> = Layer.succeed(Mailer, Mailer.of({
  description: "log (SMTP_URL unset: mails are written to the log, not sent)",
  send: (message) =>
    Effect.logInfo(
      `mail: not configured (SMTP_URL unset), not sent. To: ${message.to}\nSubject: ${message.subject}\n\n${message.text}`
    )
}))

// ---- Memory (tests) -------------------------------------------------------------------------------

/** Mails kept in memory, for tests. */
export class SentMails extends Context.Service<SentMails, Ref.Ref<ReadonlyArray<MailMessage>>>()(
  "customify/capabilities/mail/SentMails"
) {}

export const layerMemory: Layer.Layer<Mailer | SentMails> = Layer.effectContext(Effect.gen(function*() {
  const sent = yield* Ref.make<ReadonlyArray<MailMessage>>([])
  return Context.make(SentMails, sent).pipe(
    Context.add(Mailer, Mailer.of({
      description: "memory",
      send: (message) => Ref.update(sent, (all) => [...all, message])
    }))
  )
}))

// ---- Choice -----------------------------------------------------------------------------------------

/** SMTP when SMTP_URL is set, the log otherwise. */
const isLoopbackHost = (host: string) => host === "localhost" || host === "::1" || host === "[::1]" || host.startsWith("127.")

export const layer: Layer.Layer<Mailer, never, AppConfig> = Layer.unwrap(Effect.gen(function*() {
  const config = yield* AppConfig
  return Option.match(config.smtpUrl, {
    onNone: () => layerLog,
    onSome: (url) =>
      layerSmtp({
        url,
        from: config.mailFrom,
        // In production, plain SMTP only to a relay on this host (a sidecar, a local MTA).
        requireTls: config.nodeEnv === "production" && !isLoopbackHost(parseSmtpUrl(Redacted.value(url))?.host ?? "")
      })
  })
}))
