import { Context, Data, Effect, Layer, Ref } from "effect"

export interface MailMessage {
  readonly to: string
  readonly subject: string
  readonly text: string
}

export class MailError extends Data.TaggedError("MailError")<{ readonly cause: unknown }> {}

/** Outgoing email. */
export class Mailer extends Context.Service<Mailer, {
  readonly description: string
  readonly send: (message: MailMessage) => Effect.Effect<void, MailError>
}>()("customify/capabilities/mail/Mailer") {}

export const layer = Layer.succeed(Mailer, Mailer.of({
  description: "log (no mail provider configured)",
  send: (mail) => Effect.logInfo(`mail (not sent, no SMTP_URL): to ${mail.to}: ${mail.subject}\n${mail.text}`)
}))

/** Mails kept in memory, for tests. */
export class SentMails extends Context.Service<SentMails, Ref.Ref<ReadonlyArray<MailMessage>>>()(
  "customify/capabilities/mail/SentMails"
) {}

export const layerMemory: Layer.Layer<Mailer | SentMails> = Layer.effectContext(Effect.gen(function*() {
  const sent = yield* Ref.make<ReadonlyArray<MailMessage>>([])
  return Context.make(SentMails, sent).pipe(
    Context.add(Mailer, Mailer.of({
      description: "memory",
      send: (mail) => Ref.update(sent, (all) => [...all, mail])
    }))
  )
}))
