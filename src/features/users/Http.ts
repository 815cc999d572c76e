import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Users from "./Users.ts"

export const MeHandlers = HttpApiBuilder.group(ServerApi, "me", (handlers) =>
  Effect.succeed(
    handlers
      .handle("get", () => answerAs((actor) => Users.getMe(actor)))
      .handle("update", ({ payload }) => answerAs((actor) => Users.updateProfile(actor, payload)))
      .handle("changePassword", ({ payload }) => answerAs((actor) => Users.changePassword(actor, payload)))
      .handle("delete", ({ payload }) => answerAs((actor) => Users.deleteAccount(actor, payload.password)))
      .handle("listSessions", () => answerAs((actor) => Effect.map(Users.listSessions(actor), (data) => ({ data }))))
      .handle("deleteSession", ({ params }) => answerAs((actor) => Users.signOutSession(actor, params.sessionId)))
  ))

export const AdminHandlers = HttpApiBuilder.group(ServerApi, "admin", (handlers) =>
  Effect.succeed(
    handlers
      .handle("listUsers", ({ query }) =>
        answerAs((actor) => Users.listAccounts(actor, { limit: query.limit, cursor: query.cursor, emailPrefix: query.email })))
      .handle("updateUser", ({ params, payload }) => answerAs((actor) => Users.updateAccount(actor, params.id, payload)))
  ))
