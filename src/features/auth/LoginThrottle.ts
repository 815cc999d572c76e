import { createHmac } from "node:crypto"
import { isIP } from "node:net"
import { Clock, Context, Duration, Effect, Layer, Redacted } from "effect"
import { SqlClient, type SqlError } from "effect/sql"
import { DatabaseUnavailable, orUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import { TooManyLoginAttempts } from "../../domain/AuthErrors.ts"
import { addressBucket } from "../../http/ClientIp.ts"

/** Attempts one email may make from one address within the window (docs/decisions/0014). */
export const MAX_FAILED_LOGINS = 10
export const FAILED_LOGIN_WINDOW = Duration.minutes(15)
/**
 * Attempts one email may make from all addresses together within the window before only the
 * networks it signed in from recently may keep trying. High enough that one address (10) or a
 * few cannot reach it, so a lone attacker cannot shut the owner out of new networks; low enough
 * that a botnet gets 50 guesses per account per window instead of 10 per address.
 */
export const ACCOUNT_FAILURE_CEILING = 50
/** How long a network a sign-in succeeded from stays known to its account. */
export const KNOWN_NETWORK_TTL = Duration.days(30)

/**
 * Brute-force protection, separate from the global rate limit, counted in PostgreSQL (so every
 * instance counts together, and counting survives a Redis outage):
 *
 * - at most MAX_FAILED_LOGINS attempts for one email from one address (IPv6: its /64) per
 *   window; beyond that the pair is refused until its window ends;
 * - beyond ACCOUNT_FAILURE_CEILING attempts for one email from all addresses together, only
 *   networks (IPv4 /24, IPv6 /64) that signed in to it within KNOWN_NETWORK_TTL may keep trying
 *   (still bound by their pair's limit); others are refused like a locked pair, so the owner's
 *   usual networks keep working while a botnet is slowed.
 *
 * Each attempt is counted atomically before its password is checked, so a burst of parallel
 * guesses cannot slip under either limit; an attempt refused by its pair's limit does not count
 * for the account (one address cannot push the account over the ceiling). When the database is
 * unreachable, `attempt` fails with `DatabaseUnavailable` before any password is checked, so
 * right and wrong passwords answer alike.
 */
export class LoginThrottle extends Context.Service<LoginThrottle, {
  /** Counts this attempt; fails once the pair, or the account for an unknown network, has used up its attempts. */
  readonly attempt: (email: string, ip: string) => Effect.Effect<void, TooManyLoginAttempts | DatabaseUnavailable>
  /**
   * After a proven password: clears the pair's count, takes the attempt back from the account's
   * (it was no failure) and remembers the network for the account.
   */
  readonly succeeded: (email: string, ip: string) => Effect.Effect<void, DatabaseUnavailable>
  /**
   * The attempt's password was never checked (hashing was busy): it is taken back from the pair
   * and the account, so a user retrying through an overload is not locked out by it.
   */
  readonly unchecked: (email: string, ip: string) => Effect.Effect<void, DatabaseUnavailable>
}>()("customify/features/auth/LoginThrottle") {}

/**
 * The address a pair is counted for: an IPv6 address as its /64, since one subscriber holds a
 * whole /64 and may rotate through it at will; an IPv4 address (or anything else) as it is.
 */
export const pairAddress = addressBucket

/**
 * The network a sign-in came from, as remembered for the account: IPv4 /24, IPv6 /64, so a
 * renewed DHCP lease or a rotated privacy address still counts as the owner's network.
 */
export const networkOf = (ip: string): string =>
  isIP(ip) === 4 ? `${ip.split(".").slice(0, 3).join(".")}.0/24` : pairAddress(ip)

/**
 * Row keys: HMAC-SHA256 under a key derived from JWT_SECRET, so a copy of the tables does not
 * tell which emails were tried from which addresses (a plain hash of an email and an IPv4
 * address is reversed by trying 2^32 addresses). Rotating JWT_SECRET forgets the counters and
 * the known networks, which is harmless: counters are 15 minutes old at most, and a network
 * becomes known again at the next sign-in.
 */
const makeKeys = (secret: Redacted.Redacted) => {
  const key = createHmac("sha256", Redacted.value(secret)).update("customify/login-throttle/v1").digest()
  const mac = (text: string) => createHmac("sha256", key).update(text).digest("base64url")
  return (email: string, ip: string) => ({
    pair: mac(`pair\n${email}\n${pairAddress(ip)}`),
    account: mac(`account\n${email}`),
    network: mac(`network\n${email}\n${networkOf(ip)}`)
  })
}

const windowMillis = Duration.toMillis(FAILED_LOGIN_WINDOW)
const knownMillis = Duration.toMillis(KNOWN_NETWORK_TTL)

const refused = (windowStart: number, now: number) =>
  new TooManyLoginAttempts({ retryAfterSeconds: Math.max(1, Math.ceil((windowStart + windowMillis - now) / 1000)) })

/**
 * One statement counts the attempt for the pair and, unless that refuses it, for the account:
 * each upsert locks its row, so parallel attempts are counted one after the other. A counter
 * whose window has passed starts again at 1. The account's counter is only raised while under
 * the ceiling or for a known network (the conditional DO UPDATE); no row back means refused.
 * Rows are locked pair first, then account, in every statement that locks both.
 */
export const layerSql = Layer.effect(LoginThrottle, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const keys = makeKeys((yield* AppConfig).jwtSecret)

  const attempt = Effect.fn("LoginThrottle.attempt")(function*(email: string, ip: string) {
    const key = keys(email, ip)
    const now = yield* Clock.currentTimeMillis
    const at = new Date(now)
    const windowFloor = new Date(now - windowMillis)
    const knownSince = new Date(now - knownMillis)
    const rows = yield* sql<{
      readonly pairFailures: number
      readonly pairWindowStart: Date
      readonly accountCounted: boolean
      readonly accountWindowStart: Date | null
    }>`
      WITH pair AS (
        INSERT INTO login_attempts AS c (key, kind, failures, window_start)
        VALUES (${key.pair}, 'pair', 1, ${at})
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN c.window_start <= ${windowFloor} THEN 1 ELSE c.failures + 1 END,
          window_start = CASE WHEN c.window_start <= ${windowFloor} THEN EXCLUDED.window_start ELSE c.window_start END
        RETURNING c.failures, c.window_start
      ),
      account AS (
        INSERT INTO login_attempts AS c (key, kind, failures, window_start)
        SELECT ${key.account}, 'account', 1, ${at}::timestamptz FROM pair WHERE pair.failures <= ${MAX_FAILED_LOGINS}
        ON CONFLICT (key) DO UPDATE SET
          failures = CASE WHEN c.window_start <= ${windowFloor} THEN 1 ELSE c.failures + 1 END,
          window_start = CASE WHEN c.window_start <= ${windowFloor} THEN EXCLUDED.window_start ELSE c.window_start END
        WHERE c.window_start <= ${windowFloor}
          OR c.failures < ${ACCOUNT_FAILURE_CEILING}
          OR EXISTS (SELECT 1 FROM login_known_networks k WHERE k.key = ${key.network} AND k.last_success_at > ${knownSince})
        RETURNING c.failures
      )
      SELECT pair.failures AS pair_failures, pair.window_start AS pair_window_start,
        EXISTS (SELECT 1 FROM account) AS account_counted,
        (SELECT window_start FROM login_attempts WHERE key = ${key.account}) AS account_window_start
      FROM pair`.pipe(orUnavailable)
    const row = rows[0]!
    if (row.pairFailures > MAX_FAILED_LOGINS) return yield* refused(row.pairWindowStart.getTime(), now)
    if (!row.accountCounted) {
      // The window start read here is the one this statement began with: good enough for Retry-After.
      const windowStart = row.accountWindowStart === null ? now : row.accountWindowStart.getTime()
      return yield* refused(windowStart, now)
    }
  })

  const succeeded = Effect.fn("LoginThrottle.succeeded")(function*(email: string, ip: string) {
    const key = keys(email, ip)
    const now = yield* Clock.currentTimeMillis
    // Two statements: the pair's row is free again before the account's is locked, so this never
    // holds the account's row while waiting for the pair's (attempts lock the pair's, then the account's).
    yield* sql`DELETE FROM login_attempts WHERE key = ${key.pair}`.pipe(orUnavailable)
    yield* sql`
      WITH refund AS (
        UPDATE login_attempts SET failures = failures - 1
        WHERE key = ${key.account} AND failures > 0 AND window_start > ${new Date(now - windowMillis)}
      )
      INSERT INTO login_known_networks (key, last_success_at) VALUES (${key.network}, ${new Date(now)})
      ON CONFLICT (key) DO UPDATE SET last_success_at = EXCLUDED.last_success_at`.pipe(orUnavailable)
  })

  const unchecked = Effect.fn("LoginThrottle.unchecked")(function*(email: string, ip: string) {
    const key = keys(email, ip)
    const windowFloor = new Date((yield* Clock.currentTimeMillis) - windowMillis)
    // One row per statement, pair first, as in `succeeded`.
    for (const rowKey of [key.pair, key.account]) {
      yield* sql`
        UPDATE login_attempts SET failures = failures - 1
        WHERE key = ${rowKey} AND failures > 0 AND window_start > ${windowFloor}`.pipe(orUnavailable)
    }
  })

  return LoginThrottle.of({ attempt, succeeded, unchecked })
}))

/** The same rules in process memory, for unit tests of the use cases (the Effect Clock, so TestClock moves windows). */
export const layerMemory = Layer.effect(LoginThrottle, Effect.gen(function*() {
  const keys = makeKeys((yield* AppConfig).jwtSecret)
  const counters = new Map<string, { failures: number; windowStart: number }>()
  const networks = new Map<string, number>()
  const count = (key: string, now: number) => {
    const current = counters.get(key)
    const next = current === undefined || current.windowStart <= now - windowMillis
      ? { failures: 1, windowStart: now }
      : { failures: current.failures + 1, windowStart: current.windowStart }
    counters.set(key, next)
    return next
  }
  return LoginThrottle.of({
    attempt: (email, ip) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const key = keys(email, ip)
        const pair = count(key.pair, now)
        if (pair.failures > MAX_FAILED_LOGINS) return Effect.fail(refused(pair.windowStart, now))
        const account = counters.get(key.account)
        const known = (networks.get(key.network) ?? Number.NEGATIVE_INFINITY) > now - knownMillis
        if (
          account !== undefined && account.windowStart > now - windowMillis &&
          account.failures >= ACCOUNT_FAILURE_CEILING && !known
        ) return Effect.fail(refused(account.windowStart, now))
        count(key.account, now)
        return Effect.void
      }),
    succeeded: (email, ip) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const key = keys(email, ip)
        counters.delete(key.pair)
        const account = counters.get(key.account)
        if (account !== undefined && account.failures > 0 && account.windowStart > now - windowMillis) account.failures--
        networks.set(key.network, now)
      }),
    unchecked: (email, ip) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const key = keys(email, ip)
        for (const rowKey of [key.pair, key.account]) {
          const counter = counters.get(rowKey)
          if (counter !== undefined && counter.failures > 0 && counter.windowStart > now - windowMillis) counter.failures--
        }
      })
  })
}))

/** Rows deleted per statement while pruning, so no statement holds many locks for long. */
const PRUNE_BATCH = 5_000

/**
 * Deletes counters whose window has passed and networks not signed in from within
 * KNOWN_NETWORK_TTL; answers how many rows went. For periodic housekeeping (the worker): nothing
 * reads an expired row, it only takes space. A counter an attempt restarts meanwhile is kept
 * (the window condition is checked again on the row being deleted).
 */
export const prune: Effect.Effect<number, DatabaseUnavailable, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const now = yield* Clock.currentTimeMillis
  const windowFloor = new Date(now - windowMillis)
  const knownFloor = new Date(now - knownMillis)
  const drain = (statement: () => Effect.Effect<ReadonlyArray<{ readonly deleted: number }>, SqlError.SqlError>) =>
    Effect.gen(function*() {
      let total = 0
      for (;;) {
        const deleted = (yield* statement())[0]?.deleted ?? 0
        total += deleted
        if (deleted < PRUNE_BATCH) return total
      }
    })
  const counters = yield* drain(() =>
    sql<{ readonly deleted: number }>`
      WITH gone AS (
        DELETE FROM login_attempts
        WHERE key IN (SELECT key FROM login_attempts WHERE window_start <= ${windowFloor} LIMIT ${PRUNE_BATCH})
          AND window_start <= ${windowFloor}
        RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`
  )
  const known = yield* drain(() =>
    sql<{ readonly deleted: number }>`
      WITH gone AS (
        DELETE FROM login_known_networks
        WHERE key IN (SELECT key FROM login_known_networks WHERE last_success_at <= ${knownFloor} LIMIT ${PRUNE_BATCH})
          AND last_success_at <= ${knownFloor}
        RETURNING 1
      )
      SELECT count(*)::int AS deleted FROM gone`
  )
  return counters + known
}).pipe(orUnavailable, Effect.withSpan("LoginThrottle.prune"))
