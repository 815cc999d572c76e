/**
 * `npm run seed`: a demo administrator and a demo user, on DATABASE_URL or the embedded
 * database. Idempotent: existing demo accounts are left as they are. Passwords come from
 * SEED_ADMIN_PASSWORD / SEED_USER_PASSWORD, or are printed once when generated.
 */
import { randomBytes, randomUUID } from "node:crypto"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Layer, Option } from "effect"
import * as Database from "../src/capabilities/database/Database.ts"
import * as AppConfig from "../src/config/AppConfig.ts"
import type { UserId } from "../src/domain/User.ts"
import * as Passwords from "../src/features/accounts/Passwords.ts"
import { AccountsRepository, layerSql } from "../src/features/accounts/AccountsRepository.ts"
import * as Logging from "../src/observability/Logging.ts"

const demo = [
  { email: "admin@demo.customify.app", fullName: "Demo Admin", role: "admin", passwordVariable: "SEED_ADMIN_PASSWORD" },
  { email: "user@demo.customify.app", fullName: "Demo User", role: "user", passwordVariable: "SEED_USER_PASSWORD" }
] as const

const seedAccount = Effect.fnUntraced(function*(account: (typeof demo)[number]) {
  const accounts = yield* AccountsRepository
  if (Option.isSome(yield* accounts.findByEmail(account.email))) {
    yield* Effect.logInfo(`seed: ${account.email} exists, left unchanged`)
    return
  }
  const given = process.env[account.passwordVariable]
  const password = given ?? randomBytes(12).toString("base64url")
  const created = yield* accounts.create({
    id: randomUUID() as UserId,
    email: account.email,
    passwordHash: yield* (yield* Passwords.Passwords).hash(password),
    fullName: account.fullName,
    plan: account.role === "admin" ? "enterprise" : "free"
  })
  if (account.role === "admin") yield* accounts.updateAdminFields(created.id, { role: "admin" })
  yield* Effect.logInfo(`seed: created ${account.role} ${account.email}`)
  if (given === undefined) console.log(`${account.email} password: ${password}`)
})

Effect.gen(function*() {
  yield* Database.migrate
  yield* Effect.forEach(demo, seedAccount, { discard: true })
}).pipe(
  Effect.provide(
    Layer.mergeAll(layerSql, Passwords.layer).pipe(
      Layer.provideMerge(Database.layer),
      Layer.provideMerge(Logging.layer),
      Layer.provideMerge(AppConfig.layer)
    )
  ),
  NodeRuntime.runMain
)
