import { Context } from "effect"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"
import type { Actor } from "../domain/Policy.ts"
import { Forbidden, ServiceUnavailable, Unauthorized } from "./Problems.ts"

/** The signed-in caller, provided to every endpoint behind `Authentication`. */
export class CurrentActor extends Context.Service<CurrentActor, Actor>()("customify/api/CurrentActor") {}

/**
 * Bearer access tokens (JWT, `typ: at+jwt`) whose session is still alive. Every refusal is
 * the same 401 problem with a `code` saying whether to refresh or to sign in again; 503 when
 * the session's state cannot be read (cache and database both unreachable).
 */
export class Authentication extends HttpApiMiddleware.Service<Authentication, { provides: CurrentActor }>()(
  "customify/api/Authentication",
  {
    security: {
      bearer: HttpApiSecurity.bearer.pipe(
        HttpApiSecurity.annotate(OpenApi.Format, "JWT"),
        HttpApiSecurity.annotate(
          OpenApi.Description,
          "Access token: a JWT following RFC8725 (HS256 only, typ at+jwt, iss, aud, exp of 15 minutes)"
        )
      )
    },
    error: [Unauthorized, ServiceUnavailable]
  }
) {}

/**
 * Internal routes for the integration layer: a static key from SERVICE_API_KEYS in the
 * `X-Service-Key` header. A user's bearer token never opens them (403); no or a wrong key is 401.
 */
export class ServiceAuthentication extends HttpApiMiddleware.Service<ServiceAuthentication>()(
  "customify/api/ServiceAuthentication",
  {
    security: { serviceKey: HttpApiSecurity.apiKey({ key: "X-Service-Key", in: "header" }) },
    error: [Unauthorized, Forbidden]
  }
) {}
