import { createHash, timingSafeEqual } from "node:crypto"
import { Effect, Layer, Redacted } from "effect"
import { HttpServerRequest } from "effect/http"
import { Forbidden, Unauthorized } from "../../api/Problems.ts"
import { ServiceAuthentication } from "../../api/Security.ts"
import { AppConfig } from "../../config/AppConfig.ts"

const digest = (value: string) => createHash("sha256").update(value).digest()

/**
 * Compares the presented key with every configured key in constant time (digests of equal
 * length, no early exit), so neither the key nor how many characters matched leaks by timing.
 */
export const layer = Layer.effect(ServiceAuthentication, Effect.gen(function*() {
  const { serviceApiKeys } = yield* AppConfig
  const known = serviceApiKeys.map((key) => digest(Redacted.value(key)))
  const isKnown = (presented: string) => {
    const candidate = digest(presented)
    let match = false
    for (const key of known) match = timingSafeEqual(key, candidate) || match
    return presented.length > 0 && match
  }
  return ServiceAuthentication.of({
    serviceKey: (httpEffect, { credential }) =>
      Effect.gen(function*() {
        if (isKnown(Redacted.value(credential))) return yield* httpEffect
        const request = yield* HttpServerRequest.HttpServerRequest
        if (request.headers["authorization"] !== undefined) {
          return yield* new Forbidden({ detail: "Internal routes accept only service credentials" })
        }
        return yield* new Unauthorized({ code: "unauthorized", detail: "Send a service key as X-Service-Key" })
      })
  })
}))
