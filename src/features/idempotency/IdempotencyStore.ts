import { randomUUID } from "node:crypto"
import { Clock, Context, Duration, Effect, Layer, Ref } from "effect"
import { SqlClient } from "effect/sql"
import { type DatabaseUnavailable, orUnavailable, violatesForeignKey } from "../../capabilities/database/DatabaseUnavailable.ts"

/** An answer as the client got it, to send again. */
export interface StoredAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface ClaimRequest {
  readonly userId: string
  readonly key: string
  /** The request the key is bound to: method, path and canonical body, hashed. */
  readonly fingerprint: string
  /** How long the claim holds if its request never finishes (its process died). */
  readonly lease: Duration.Duration
  /** How long the key binds its request and answer. */
  readonly ttl: Duration.Duration
}

export type Claim =
  /** The caller runs the request, then completes or releases the claim with this token. */
  | { readonly _tag: "Claimed"; readonly token: string }
  | { readonly _tag: "Replay"; readonly answer: StoredAnswer }
  | { readonly _tag: "OtherRequest" }
  | { readonly _tag: "InProgress"; readonly retryAfterSeconds: number }
  /** The user was deleted meanwhile: nothing to bind the key to (the request answers for itself). */
  | { readonly _tag: "UserGone" }

export interface Held {
  readonly userId: string
  readonly key: string
  readonly token: string
}

/**
 * Idempotency keys, the same for every instance. A key is free (never used, expired, or its
 * in-flight claim's lease ran out with the same request), held by one running request, or
 * answered. Each step is one statement, so two instances claiming the same key at once find one
 * winner.
 */
export class IdempotencyStore extends Context.Service<IdempotencyStore, {
  readonly claim: (request: ClaimRequest) => Effect.Effect<Claim, DatabaseUnavailable>
  /** Stores the answer of the held claim (nothing if the claim was lost meanwhile). */
  readonly complete: (held: Held, answer: StoredAnswer) => Effect.Effect<void, DatabaseUnavailable>
  /** Frees the key for a retry (nothing if the claim was lost meanwhile). */
  readonly release: (held: Held) => Effect.Effect<void, DatabaseUnavailable>
  /** Deletes expired keys; answers how many. */
  readonly prune: Effect.Effect<number, DatabaseUnavailable>
}>()("customify/features/idempotency/IdempotencyStore") {}

/** A claim that found the key taken but could not read it (it changed meanwhile) tries again, at most this often. */
const CLAIM_ATTEMPTS = 3

const secondsLeft = (untilMillis: number, nowMillis: number) => Math.max(1, Math.ceil((untilMillis - nowMillis) / 1000))

interface Row {
  readonly claimed: boolean
  readonly fingerprint: string | null
  readonly status: number | null
  readonly headers: unknown
  readonly body: string | null
  readonly retryAfter: number | null
}

export const layerSql = Layer.effect(IdempotencyStore, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  // The database's clock decides leases and expiry, so instances with skewed clocks agree.
  // The outer SELECT reads the snapshot from before the upsert: when the key was taken by a
  // claim committed while this statement waited, it sees no row, and the claim is tried again.
  // Likewise when it sees a row the upsert would have taken (expired, or abandoned with this
  // request): the upsert found it changed meanwhile (taken over), and what the snapshot holds
  // (an expired answer, another request's fingerprint) is not what the key holds now.
  const attempt = (request: ClaimRequest, token: string) =>
    sql<Row>`
      WITH claimed AS (
        INSERT INTO idempotency_keys AS k (user_id, key, fingerprint, claim_token, leased_until, expires_at)
        VALUES (
          ${request.userId}, ${request.key}, ${request.fingerprint}, ${token},
          now() + ${Duration.toMillis(request.lease)} * interval '1 millisecond',
          now() + ${Duration.toMillis(request.ttl)} * interval '1 millisecond'
        )
        ON CONFLICT (user_id, key) DO UPDATE SET
          fingerprint = EXCLUDED.fingerprint, claim_token = EXCLUDED.claim_token,
          leased_until = EXCLUDED.leased_until, expires_at = EXCLUDED.expires_at,
          status = NULL, headers = NULL, body = NULL
        WHERE k.expires_at <= now()
          OR (k.status IS NULL AND k.leased_until <= now() AND k.fingerprint = EXCLUDED.fingerprint)
        RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM claimed) AS claimed, k.fingerprint, k.status, k.headers, k.body,
        ceil(extract(epoch FROM k.leased_until - now()))::int AS retry_after
      FROM (SELECT 1) AS one
      LEFT JOIN idempotency_keys AS k ON k.user_id = ${request.userId} AND k.key = ${request.key}
        AND k.expires_at > now()
        AND NOT (k.status IS NULL AND k.leased_until <= now() AND k.fingerprint = ${request.fingerprint})`

  const claim = Effect.fn("IdempotencyStore.claim")(function*(request: ClaimRequest) {
    const token = randomUUID()
    for (let i = 0; i < CLAIM_ATTEMPTS; i++) {
      const rows = yield* orUnavailable(attempt(request, token).pipe(
        Effect.catchIf((error) => violatesForeignKey(error, /^idempotency_keys_user_id/), () => Effect.succeed(undefined))
      ))
      if (rows === undefined) return { _tag: "UserGone" } as Claim
      const [row] = rows
      if (row === undefined || row.claimed) return { _tag: "Claimed", token } as Claim
      if (row.fingerprint === null) continue
      if (row.fingerprint !== request.fingerprint) return { _tag: "OtherRequest" } as Claim
      if (row.status === null) return { _tag: "InProgress", retryAfterSeconds: Math.max(1, row.retryAfter ?? 1) } as Claim
      const headers = typeof row.headers === "string" ? JSON.parse(row.headers) : row.headers
      return { _tag: "Replay", answer: { status: row.status, headers: headers ?? {}, body: row.body ?? "" } } as Claim
    }
    return { _tag: "InProgress", retryAfterSeconds: 1 } as Claim
  })

  return IdempotencyStore.of({
    claim,
    complete: (held, answer) =>
      orUnavailable(sql`
        UPDATE idempotency_keys
        SET status = ${answer.status}, headers = ${JSON.stringify(answer.headers)}::jsonb, body = ${answer.body}
        WHERE user_id = ${held.userId} AND key = ${held.key} AND claim_token = ${held.token}`).pipe(
        Effect.asVoid,
        Effect.withSpan("IdempotencyStore.complete")
      ),
    release: (held) =>
      orUnavailable(sql`
        DELETE FROM idempotency_keys
        WHERE user_id = ${held.userId} AND key = ${held.key} AND claim_token = ${held.token} AND status IS NULL`).pipe(
        Effect.asVoid,
        Effect.withSpan("IdempotencyStore.release")
      ),
    prune: orUnavailable(sql<{ readonly n: number }>`
      WITH gone AS (DELETE FROM idempotency_keys WHERE expires_at <= now() RETURNING 1)
      SELECT count(*)::int AS n FROM gone`).pipe(
      Effect.map((rows) => rows[0]?.n ?? 0),
      Effect.withSpan("IdempotencyStore.prune")
    )
  })
}))

interface MemoryEntry {
  readonly fingerprint: string
  readonly token: string
  readonly leasedUntil: number
  readonly expiresAt: number
  readonly answer: StoredAnswer | undefined
}

/** The same rules over a map, on the Effect clock (for unit tests). */
export const layerMemory = Layer.effect(IdempotencyStore, Effect.gen(function*() {
  const entries = yield* Ref.make(new Map<string, MemoryEntry>())
  const id = (userId: string, key: string) => `${userId}\n${key}`
  return IdempotencyStore.of({
    claim: (request) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(entries, (map): [Claim, Map<string, MemoryEntry>] => {
          const found = map.get(id(request.userId, request.key))
          const free = found === undefined || found.expiresAt <= now ||
            (found.answer === undefined && found.leasedUntil <= now && found.fingerprint === request.fingerprint)
          if (free) {
            const token = randomUUID()
            const next = new Map(map).set(id(request.userId, request.key), {
              fingerprint: request.fingerprint,
              token,
              leasedUntil: now + Duration.toMillis(request.lease),
              expiresAt: now + Duration.toMillis(request.ttl),
              answer: undefined
            })
            return [{ _tag: "Claimed", token }, next]
          }
          if (found.fingerprint !== request.fingerprint) return [{ _tag: "OtherRequest" }, map]
          if (found.answer === undefined) return [{ _tag: "InProgress", retryAfterSeconds: secondsLeft(found.leasedUntil, now) }, map]
          return [{ _tag: "Replay", answer: found.answer }, map]
        })),
    complete: (held, answer) =>
      Ref.update(entries, (map) => {
        const found = map.get(id(held.userId, held.key))
        return found?.token === held.token ? new Map(map).set(id(held.userId, held.key), { ...found, answer }) : map
      }),
    release: (held) =>
      Ref.update(entries, (map) => {
        const found = map.get(id(held.userId, held.key))
        if (found?.token !== held.token || found.answer !== undefined) return map
        const next = new Map(map)
        next.delete(id(held.userId, held.key))
        return next
      }),
    prune: Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.modify(entries, (map): [number, Map<string, MemoryEntry>] => {
        const kept = new Map([...map].filter(([, entry]) => entry.expiresAt > now))
        return [map.size - kept.size, kept]
      }))
  })
}))
