import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { ClientIp } from "../../http/ClientIp.ts"
import { answer, answerAs } from "../../http/DomainProblems.ts"
import type { Account } from "../../domain/Account.ts"
import * as Auth from "./Auth.ts"
import * as PasswordReset from "./PasswordReset.ts"

/** The `SignedIn` answer; its schema encodes the account as the `User` view (no password hash). */
const signedIn = ({ account, tokens }: { readonly account: Account; readonly tokens: Auth.IssuedTokens }) => ({ user: account, tokens })

export const AuthHandlers = HttpApiBuilder.group(ServerApi, "auth", Effect.fnUntraced(function*(handlers) {
  const clientIp = yield* ClientIp
  return handlers
    .handle("register", ({ payload, request }) =>
      answer(Auth.register({ ...payload, client: request.headers["user-agent"] })).pipe(Effect.map(signedIn)))
    .handle("login", ({ payload, request }) =>
      answer(Auth.login({ ...payload, ip: clientIp(request), client: request.headers["user-agent"] })).pipe(
        Effect.map(signedIn)
      ))
    .handle("refresh", ({ payload }) =>
      answer(Auth.refresh(payload.refreshToken)).pipe(Effect.map((tokens) => ({ tokens }))))
    .handle("requestPasswordReset", ({ payload }) => answer(PasswordReset.requestPasswordReset(payload.email)))
    .handle("confirmPasswordReset", ({ payload }) => answer(PasswordReset.confirmPasswordReset(payload)))
    .handle("logout", () => answerAs((actor) => Auth.logout(actor)))
}))
