import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { CurrentActor } from "../../api/Security.ts"
import type { UserView } from "../../api/Users.ts"
import type { Account } from "../../domain/Account.ts"
import { answer } from "../../http/DomainProblems.ts"
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

const withActor = <A, E, R>(f: (actor: CurrentActor["Service"]) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.service(CurrentActor), f)

export const MeHandlers = HttpApiBuilder.group(ServerApi, "me", (handlers) =>
  Effect.succeed(
    handlers
      .handle("get", () => withActor((actor) => answer(Users.getMe(actor)).pipe(Effect.map(toUserView))))
      .handle("update", ({ payload }) =>
        withActor((actor) => answer(Users.updateProfile(actor, payload)).pipe(Effect.map(toUserView))))
      .handle("changePassword", ({ payload }) => withActor((actor) => answer(Users.changePassword(actor, payload))))
      .handle("delete", ({ payload }) => withActor((actor) => answer(Users.deleteAccount(actor, payload.password))))
  ))

export const AdminHandlers = HttpApiBuilder.group(ServerApi, "admin", (handlers) =>
  Effect.succeed(
    handlers
      .handle("listUsers", ({ query }) =>
        withActor((actor) =>
          answer(Users.listAccounts(actor, { limit: query.limit, cursor: query.cursor, emailPrefix: query.email })).pipe(
            Effect.map((page) => ({ data: page.data.map(toUserView), nextCursor: page.nextCursor }))
          )))
      .handle("updateUser", ({ params, payload }) =>
        withActor((actor) => answer(Users.updateAccount(actor, params.id, payload)).pipe(Effect.map(toUserView))))
  ))
