import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { ServerApi } from "../../http/ServerApi.ts"
import { answerAs } from "../../http/DomainProblems.ts"
import * as Subscriptions from "./Subscriptions.ts"

export const SubscriptionsHandlers = HttpApiBuilder.group(ServerApi, "subscriptions", (handlers) =>
  Effect.succeed(
    handlers
      .handle("get", () => answerAs((actor) => Subscriptions.getSubscription(actor)))
      .handle("usage", () => answerAs((actor) => Subscriptions.getUsage(actor)))
      .handle("quota", () => answerAs((actor) => Subscriptions.getQuota(actor)))
  ))
