import { Context } from "effect"

/**
 * What the access log and the metrics learn about a request while it runs: the route template
 * (set by the API's validation middleware, which knows the matched endpoint) and the caller
 * (set by authentication). One mutable record per request, created by the request pipeline.
 */
export class RequestLog extends Context.Service<RequestLog, {
  route: string | undefined
  userId: string | undefined
}>()("customify/http/RequestLog") {}
