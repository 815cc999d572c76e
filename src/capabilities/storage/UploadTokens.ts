import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto"
import { Option, Redacted, Schema } from "effect"
import { isSafeKey } from "./StorageService.ts"

/**
 * What a local upload or download URL grants, signed: one method on one key until `e`
 * (epoch milliseconds); uploads also fix the content type and the exact size.
 */
const TokenPayload = Schema.Struct({
  v: Schema.Literal(1),
  m: Schema.Literals(["PUT", "GET"]),
  k: Schema.String,
  t: Schema.optionalKey(Schema.String),
  s: Schema.optionalKey(Schema.Int),
  e: Schema.Int
})
export type TokenPayload = typeof TokenPayload.Type
const TokenPayloadJson = Schema.fromJsonString(TokenPayload)

/** A key for these tokens only, derived from the secret (HKDF): the secret itself signs nothing here. */
export const deriveSigningKey = (secret: Redacted.Redacted): Buffer =>
  Buffer.from(hkdfSync("sha256", Redacted.value(secret), "customify-core-api", "local-uploads/v1", 32))

const mac = (key: Buffer, data: string) => createHmac("sha256", key).update(data).digest()

export const signToken = (key: Buffer, payload: TokenPayload): string => {
  const body = Buffer.from(Schema.encodeSync(TokenPayloadJson)(payload)).toString("base64url")
  return `${body}.${mac(key, body).toString("base64url")}`
}

export type TokenCheck =
  | { readonly _tag: "Valid"; readonly payload: TokenPayload }
  | { readonly _tag: "InvalidToken" }
  | { readonly _tag: "Expired" }

export const verifyToken = (key: Buffer, token: string, method: "PUT" | "GET", now: number): TokenCheck => {
  const [body, signature, ...rest] = token.split(".")
  if (body === undefined || signature === undefined || rest.length > 0) return { _tag: "InvalidToken" }
  const expected = mac(key, body)
  const given = Buffer.from(signature, "base64url")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { _tag: "InvalidToken" }
  const decoded = Schema.decodeUnknownOption(TokenPayloadJson)(Buffer.from(body, "base64url").toString("utf8"))
  if (Option.isNone(decoded) || decoded.value.m !== method || !isSafeKey(decoded.value.k)) return { _tag: "InvalidToken" }
  if (decoded.value.e <= now) return { _tag: "Expired" }
  return { _tag: "Valid", payload: decoded.value }
}
