import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import type { UserView } from "../../api/Users.ts"
import type { Account } from "../../domain/Account.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Users from "./Users.ts"

/** Field by field, so a new column (a hash, a secret) can never leak into a response. */
export const toUserView = (account: Account): typeof UserView.Type => ({
  id: account.id,
  email: account.email,
  fullName: account.fullName,
  avatarUrl: account.avatarUrl,
  role: account.role,
  disabled: account.disabled,
  createdAt: account.createdAt,
  updatedAt: account.updatedAt
})

export const MeHandlers = HttpApiBuilder.group(ServerApi, "me", (handlers) =>
  Effect.succeed(
    handlers
      .handle("get", () => answerAs((actor) => Users.getMe(actor)).pipe(Effect.map(toUserView)))
      .handle("update", ({ payload }) =>
        answerAs((actor) => Users.updateProfile(actor, payload)).pipe(Effect.map(toUserView)))
      .handle("changePassword", ({ payload }) => answerAs((actor) => Users.changePassword(actor, payload)))
      .handle("delete", ({ payload }) => answerAs((actor) => Users.deleteAccount(actor, payload.password)))
  ))

export const AdminHandlers = HttpApiBuilder.group(ServerApi, "admin", (handlers) =>
  Effect.succeed(
    handlers
      .handle("listUsers", ({ query }) =>
        answerAs((actor) => Users.listAccounts(actor, { limit: query.limit, cursor: query.cursor, emailPrefix: query.email })).pipe(
            Effect.map((page) => ({ data: page.data.map(toUserView), nextCursor: page.nextCursor }))
          ))
      .handle("updateUser", ({ params, payload }) =>
        answerAs((actor) => Users.updateAccount(actor, params.id, payload)).pipe(Effect.map(toUserView)))
  ))
