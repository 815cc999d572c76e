import { Schema } from "effect"
import { matching, text, Timestamp } from "./Primitives.ts"

/** A session's id, as it is minted: 16 random bytes in base64url (case matters). */
export const SessionId = matching(/^[A-Za-z0-9_-]{22}$/u, 22, { expected: "a session id (22 base64url characters)" })

/** Longest a client's User-Agent is kept with its session. */
export const MAX_CLIENT_LENGTH = 200

/**
 * A signed-in device as its owner sees it: when it signed in and last refreshed, what it said
 * it was (its User-Agent), and whether it is the caller's own session.
 */
export const DeviceSession = Schema.Struct({
  id: SessionId,
  createdAt: Timestamp,
  lastUsedAt: Timestamp,
  userAgent: Schema.NullOr(text(MAX_CLIENT_LENGTH)).annotate({ description: "The User-Agent it signed in with, if any" }),
  description: text(100).annotate({ description: "A short description from the User-Agent, e.g. \"Firefox on Linux\"" }),
  current: Schema.Boolean.annotate({ description: "true for the session of the access token that asked" })
}).annotate({ identifier: "Session" })
export type DeviceSession = typeof DeviceSession.Type

/** No open session of the caller has this id (someone else's is indistinguishable on purpose). */
export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {}) {}

const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//u, "Edge"],
  [/\bOPR\/|\bOpera\b/u, "Opera"],
  [/\bFirefox\/|\bFxiOS\//u, "Firefox"],
  [/\bChrome\/|\bCriOS\//u, "Chrome"],
  [/\bVersion\/[\d.]+.*Safari\//u, "Safari"],
  [/\bcurl\//u, "curl"],
  [/\bPostmanRuntime\//u, "Postman"],
  [/\bnode-fetch\b|\bundici\b|\bnode\b/iu, "Node.js"],
  [/\bokhttp\//u, "OkHttp"]
]

const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(?:iPhone|iPad|iPod)\b/u, "iOS"],
  [/\bAndroid\b/u, "Android"],
  [/\bWindows\b/u, "Windows"],
  [/\bMac OS X\b|\bMacintosh\b/u, "macOS"],
  [/\bCrOS\b/u, "ChromeOS"],
  [/\bLinux\b/u, "Linux"]
]

const firstMatch = (table: ReadonlyArray<readonly [RegExp, string]>, userAgent: string) =>
  table.find(([pattern]) => pattern.test(userAgent))?.[1]

/**
 * "Firefox on Linux", "Chrome", "macOS", or "Unknown client": enough for a person to recognise
 * a device in a list; the raw User-Agent goes beside it.
 */
export const describeClient = (userAgent: string | null): string => {
  if (userAgent === null || userAgent.trim() === "") return "Unknown client"
  const browser = firstMatch(BROWSERS, userAgent)
  const system = firstMatch(SYSTEMS, userAgent)
  if (browser !== undefined && system !== undefined) return `${browser} on ${system}`
  return browser ?? system ?? "Unknown client"
}
