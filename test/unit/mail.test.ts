import { Effect, Layer, Logger, Option, Redacted, Ref, References } from "effect"
import { describe, expect, it } from "vitest"
import * as Mailer from "../../src/capabilities/mail/Mailer.ts"
import * as AppConfig from "../../src/config/AppConfig.ts"

/** What the production JSON logger would print, one line per entry. */
const capturing = () => {
  const lines: Array<string> = []
  const layer = Layer.merge(
    Logger.layer([Logger.map(Logger.formatJson, (line) => void lines.push(line))]),
    Layer.succeed(References.MinimumLogLevel, "All")
  )
  return { lines, layer }
}

const descriptionOf = (layer: Layer.Layer<Mailer.Mailer>) =>
  Effect.runPromise(Effect.gen(function*() {
    return (yield* Mailer.Mailer).description
  }).pipe(Effect.provide(layer)))

describe("mail layers", () => {
  it("the SMTP layer's description names host and port, never the credentials (and builds without connecting)", async () => {
    const description = await descriptionOf(
      Mailer.layerSmtp({ url: Redacted.make("smtp://mailer-user:hunter2-secret@mail.example.com:587"), from: "a@example.com" })
    )
    expect(description).toBe("smtp mail.example.com:587")
    expect(await descriptionOf(
      Mailer.layerSmtp({ url: Redacted.make("smtps://u:p%40ss@smtp.example.com"), from: "a@example.com" })
    )).toBe("smtps smtp.example.com:465")
  })

  it("the layer from configuration is SMTP with SMTP_URL, the log without", async () => {
    const withSmtp = Mailer.layer.pipe(
      Layer.provide(AppConfig.layerTest({ smtpUrl: Option.some(Redacted.make("smtp://u:topsecret@mail.example.com:2525")) }))
    )
    expect(await descriptionOf(withSmtp)).toBe("smtp mail.example.com:2525")
    expect(await descriptionOf(Mailer.layer.pipe(Layer.provide(AppConfig.layerTest())))).toMatch(/^log \(SMTP_URL unset/)
  })

  it("without SMTP, the whole mail is logged at INFO, its text (the link) included", async () => {
    const { lines, layer } = capturing()
    const link = "http://localhost:3000/reset-password?token=AbC-dEf_0123456789abcdefghijklmnopqrstuvwxyz"
    await Effect.runPromise(Effect.gen(function*() {
      const mailer = yield* Mailer.Mailer
      yield* mailer.send({ to: "dev@example.com", subject: "Reset your Customify password", text: `Open ${link}\n` })
    }).pipe(Effect.provide(Layer.merge(Mailer.layerLog, layer))))
    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0]!) as { level: string; message: string }
    expect(entry.level).toBe("INFO")
    expect(entry.message).toContain("not configured")
    expect(entry.message).toContain("dev@example.com")
    expect(entry.message).toContain("Reset your Customify password")
    expect(entry.message).toContain(link)
  })

  it("the memory layer keeps every message", async () => {
    const sent = await Effect.runPromise(Effect.gen(function*() {
      const mailer = yield* Mailer.Mailer
      yield* mailer.send({ to: "a@example.com", subject: "One", text: "1" })
      yield* mailer.send({ to: "b@example.com", subject: "Two", text: "2" })
      return yield* Ref.get(yield* Mailer.SentMails)
    }).pipe(Effect.provide(Mailer.layerMemory)))
    expect(sent).toEqual([
      { to: "a@example.com", subject: "One", text: "1" },
      { to: "b@example.com", subject: "Two", text: "2" }
    ])
  })

  it("masks addresses", () => {
    expect(Mailer.maskEmail("jane.doe@example.com")).toBe("j***@example.com")
    expect(new Mailer.SmtpFailure({ message: "550 <jane.doe@example.com>: no such user" }).message)
      .toBe("550 <j***@example.com>: no such user")
  })
})
