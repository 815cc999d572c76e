import { Context, Effect, Layer, Ref } from "effect"

export interface PasswordResetMail {
  readonly to: string
  readonly token: string
  readonly expiresAt: string
}

/**
 * Outgoing email. The only layer here logs that a mail would go out (never its token); a
 * provider (SES, Postmark, ...) is one more layer with the same interface.
 */
export class Mailer extends Context.Service<Mailer, {
  readonly description: string
  readonly sendPasswordReset: (mail: PasswordResetMail) => Effect.Effect<void>
}>()("customify/capabilities/mail/Mailer") {}

const maskEmail = (email: string) => email.replace(/^(.).*(@.*)$/, "$1***$2")

export const layer = Layer.succeed(Mailer, Mailer.of({
  description: "log (no mail provider configured)",
  sendPasswordReset: (mail) =>
    Effect.logInfo(`mail: password reset for ${maskEmail(mail.to)}, link valid until ${mail.expiresAt}`)
}))

/** Mails kept in memory, for tests. */
export class SentMails extends Context.Service<SentMails, Ref.Ref<ReadonlyArray<PasswordResetMail>>>()(
  "customify/capabilities/mail/SentMails"
) {}

export const layerMemory: Layer.Layer<Mailer | SentMails> = Layer.effectContext(Effect.gen(function*() {
  const sent = yield* Ref.make<ReadonlyArray<PasswordResetMail>>([])
  return Context.make(SentMails, sent).pipe(
    Context.add(Mailer, Mailer.of({
      description: "memory",
      sendPasswordReset: (mail) => Ref.update(sent, (all) => [...all, mail])
    }))
  )
}))
