/**
 * What each scenario sends. Every request is built per request (autocannon's `setupRequest`),
 * so designs and users rotate and tokens can be renewed during a long soak.
 */
import type { AutocannonClient, Context, RequestSpec } from "./load.ts"
import type { Database } from "./sql.ts"
import { BENCH_PASSWORD, createBody, patchBody } from "./fixtures.ts"

/** The current access token of each bench user (renewed by logging in again). */
export class Tokens {
  private readonly byUser = new Map<string, string>()
  set(userId: string, token: string) {
    this.byUser.set(userId, token)
  }
  get(userId: string): string {
    const token = this.byUser.get(userId)
    if (token === undefined) throw new Error(`no token for user ${userId}`)
    return token
  }
  bearer(userId: string): string {
    return `Bearer ${this.get(userId)}`
  }
}

export interface DesignRef {
  readonly id: string
  readonly ownerId: string
}

export interface PatchTarget extends DesignRef {
  version: number
}

/**
 * Designs to patch, each used by at most one request at a time and with its current version
 * tracked from the responses, so every PATCH carries the right `If-Match`: a 409 is then a real
 * conflict (and is counted as an unexpected non-2xx). Requests abandoned when a run ends are
 * reconciled by `resync`, from the database, once the server is idle.
 */
export class PatchPool {
  private readonly all: ReadonlyArray<PatchTarget>
  private free: Array<PatchTarget>
  private next = 0
  /** Times the pool was empty and a design had to be shared (should stay 0). */
  shared = 0

  constructor(designs: ReadonlyArray<PatchTarget>) {
    this.all = designs
    this.free = [...designs]
  }

  get size() {
    return this.all.length
  }

  acquire(): PatchTarget {
    const free = this.free.shift()
    if (free !== undefined) return free
    this.shared++
    return this.all[this.next++ % this.all.length]!
  }

  release(target: PatchTarget, body: string, status: number) {
    const version = status === 200
      ? /"version":(\d+)/.exec(body)?.[1]
      : status === 409
      ? /"currentVersion":(\d+)/.exec(body)?.[1]
      : undefined
    if (version !== undefined) target.version = Number(version)
    if (!this.free.includes(target)) this.free.push(target)
  }

  async resync(db: Database) {
    const versions = new Map<string, number>()
    const ids = this.all.map((d) => d.id)
    const rows = await db.run(db.sql<{ id: string; version: number }>`SELECT id, version FROM designs WHERE ${db.sql.in("id", ids)}`)
    for (const row of rows) versions.set(row.id, row.version)
    for (const design of this.all) design.version = versions.get(design.id) ?? design.version
    this.free = [...this.all]
  }
}

const JSON_HEADERS = { "content-type": "application/json" }

/** Round-robin over a list, shared by every connection of one autocannon instance. */
const roundRobin = <A>(items: ReadonlyArray<A>) => {
  if (items.length === 0) throw new Error("nothing to rotate over")
  let next = 0
  return () => items[next++ % items.length]!
}

export const health = (): Array<RequestSpec> => [{ method: "GET", path: "/health" }]

/** Scenario 2: a cached design (the set was read once before, so every request is a cache hit). */
export const getDesign = (designs: ReadonlyArray<DesignRef>, tokens: Tokens): Array<RequestSpec> => {
  const pick = roundRobin(designs)
  return [{
    method: "GET",
    setupRequest: (request) => {
      const design = pick()
      return { ...request, path: `/api/v1/designs/${design.id}`, headers: { ...request.headers, authorization: tokens.bearer(design.ownerId) } }
    }
  }]
}

/** Scenario 3: the first page of a user's designs. */
export const listDesigns = (userIds: ReadonlyArray<string>, tokens: Tokens): Array<RequestSpec> => {
  const pick = roundRobin(userIds)
  return [{
    method: "GET",
    path: "/api/v1/designs?limit=20",
    setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: tokens.bearer(pick()) } })
  }]
}

/** Scenario 4: a new design for an enterprise user (no quota), users in turn. */
export const createDesign = (userIds: ReadonlyArray<string>, tokens: Tokens): Array<RequestSpec> => {
  const pick = roundRobin(userIds)
  const body = createBody(1)
  return [{
    method: "POST",
    path: "/api/v1/designs",
    body,
    setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...JSON_HEADERS, authorization: tokens.bearer(pick()) } })
  }]
}

/** Scenario 5: an editor save with `If-Match: "<current version>"`. */
export const patchDesign = (pool: PatchPool, tokens: Tokens): Array<RequestSpec> => {
  const body = patchBody(1)
  return [{
    method: "PATCH",
    body,
    setupRequest: (request, context: Context) => {
      const design = pool.acquire()
      context["design"] = design
      return {
        ...request,
        path: `/api/v1/designs/${design.id}`,
        headers: { ...request.headers, ...JSON_HEADERS, authorization: tokens.bearer(design.ownerId), "if-match": `"${design.version}"` }
      }
    },
    onResponse: (status, responseBody, context) => {
      const design = context["design"] as PatchTarget | undefined
      if (design !== undefined) pool.release(design, responseBody, status)
    }
  }]
}

/**
 * Scenario 6: sign-in, bcrypt-bound. Each connection signs in as one of `emails`, in turn: the
 * login throttle counts every attempt of an email from one IP until one succeeds, so a user
 * must not have more than LOGIN_CONNECTIONS_PER_USER sign-ins in flight (all come from
 * 127.0.0.1) or the storm would measure 429s.
 */
export const login = (emails: ReadonlyArray<string>) => {
  const pick = roundRobin(emails)
  return {
    requests: [{ method: "POST", path: "/api/v1/auth/login", headers: JSON_HEADERS }] satisfies Array<RequestSpec>,
    setupClient: (client: AutocannonClient) => client.setBody(JSON.stringify({ email: pick(), password: BENCH_PASSWORD }))
  }
}

/** Below the login throttle's 10 attempts per email and IP. */
export const LOGIN_CONNECTIONS_PER_USER = 8
