/**
 * The baseline: the least a plain `node:http` server must do for scenarios 2 and 4, on the same
 * drivers as the API, run by `scripts/bench.ts` as its own process. It shows what the API's
 * framework, validation and layering cost on top of the unavoidable work.
 *
 * - `GET /api/v1/designs/{id}`: verify the bearer JWT with `jose` (HS256 only, `typ: at+jwt`,
 *   same issuer, audience, required claims and 5 s leeway as src/features/auth/AccessTokens.ts),
 *   then `GET design:v1:<id>` from Redis through `ioredis`; the cached answer is returned as it is
 *   after an ownership check on the owner id stored before it, with its ETag (a miss reads
 *   PostgreSQL and fills the cache, like the API).
 * - `POST /api/v1/designs`: verify the JWT, then the quota counter upsert and the INSERT of
 *   src/features/designs/DesignsRepository.ts as one statement (the upsert a CTE the INSERT
 *   selects from, as the API does since ADR 0021), through `@effect/sql-pg` with the same pool
 *   size (DATABASE_POOL_MAX, default 10). The bench users are on the unlimited plan, so, like
 *   the API's, the upsert has no `WHERE designs_created < limit`.
 *
 * It skips what the API does besides: the session liveness check, request-schema validation,
 * the product check, the subscription lookup, problem+json errors, request ids.
 *
 * Environment: HOST, PORT, DATABASE_URL, REDIS_URL, JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE,
 * DATABASE_POOL_MAX.
 */
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { Redis } from "ioredis"
import { jwtVerify } from "jose"
import { openDatabase } from "./sql.ts"

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback
  if (value === undefined) throw new Error(`baseline: ${name} is required`)
  return value
}

const key = new TextEncoder().encode(env("JWT_SECRET"))
const issuer = env("JWT_ISSUER", "customify-core-api")
const audience = env("JWT_AUDIENCE", "customify")
const poolMax = Number(env("DATABASE_POOL_MAX", "10"))
const CACHE_TTL_MS = "60000"
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

const db = await openDatabase(env("DATABASE_URL"), poolMax)
const { sql } = db
const redis = new Redis(env("REDIS_URL"), { maxRetriesPerRequest: 1, connectTimeout: 1_000 })

/** The `sub` of a valid access token, or undefined. */
const authenticate = async (request: IncomingMessage): Promise<string | undefined> => {
  const header = request.headers.authorization
  if (header === undefined || !header.startsWith("Bearer ")) return undefined
  try {
    const { payload } = await jwtVerify(header.slice(7), key, {
      algorithms: ["HS256"],
      issuer,
      audience,
      typ: "at+jwt",
      clockTolerance: 5,
      requiredClaims: ["sub", "sid", "role", "iat", "exp"]
    })
    return typeof payload.sub === "string" ? payload.sub : undefined
  } catch {
    return undefined
  }
}

interface Row {
  readonly id: string
  readonly ownerId: string
  readonly name: string
  readonly productType: string
  readonly status: string
  readonly document: unknown
  readonly version: number
  readonly createdAt: Date
  readonly updatedAt: Date
}

const toView = (row: Row) => ({
  id: row.id,
  ownerId: row.ownerId,
  name: row.name,
  productType: row.productType,
  status: row.status,
  document: typeof row.document === "string" ? JSON.parse(row.document) as unknown : row.document,
  version: row.version,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString()
})

const columns = sql`id, owner_id, name, product_type, status, document, version, created_at, updated_at`

const send = (response: ServerResponse, status: number, body?: string, headers: Record<string, string> = {}) => {
  if (body === undefined) {
    response.writeHead(status, { ...headers, "content-length": 0 })
    response.end()
    return
  }
  response.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  response.end(body)
}

/** The API's cache entry (src/features/designs/DesignAnswers.ts): `<ownerId> <version> <body>`. */
const ENTRY = /^([0-9a-f-]{36}) ([1-9]\d{0,9}) (?=\{)/

const getDesign = async (userId: string, id: string, response: ServerResponse) => {
  let entry = await redis.get(`design:v1:${id}`)
  let match = entry === null ? null : ENTRY.exec(entry)
  if (entry === null || match === null) {
    const rows = await db.run(sql<Row>`SELECT ${columns} FROM designs WHERE id = ${id} AND deleted_at IS NULL`)
    if (rows[0] === undefined) return send(response, 404)
    entry = `${rows[0].ownerId} ${rows[0].version} ${JSON.stringify(toView(rows[0]))}`
    match = ENTRY.exec(entry)!
    await redis.set(`design:v1:${id}`, entry, "PX", CACHE_TTL_MS)
  }
  if (match[1] !== userId) return send(response, 404)
  send(response, 200, entry.slice(match[0].length), { etag: `"v${match[2]}"` })
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > 1024 * 1024) {
        reject(new Error("body too large"))
        request.destroy()
      } else {
        chunks.push(chunk)
      }
    })
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

const periodKey = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString().slice(0, 10)

const createDesign = async (userId: string, request: IncomingMessage, response: ServerResponse) => {
  let input: { name?: unknown; productType?: unknown; document?: unknown; status?: unknown }
  try {
    input = JSON.parse(await readBody(request)) as typeof input
  } catch {
    return send(response, 400)
  }
  if (typeof input.name !== "string" || typeof input.productType !== "string" || typeof input.document !== "object") {
    return send(response, 400)
  }
  const at = new Date()
  const [row] = await db.run(sql<Row>`
    WITH charged AS (
      INSERT INTO design_usage (user_id, period_start, designs_created)
      VALUES (${userId}, ${periodKey(at)}, 1)
      ON CONFLICT (user_id, period_start) DO UPDATE SET designs_created = design_usage.designs_created + 1
      RETURNING 1
    )
    INSERT INTO designs (id, owner_id, name, product_type, status, document, version, created_at, updated_at)
    SELECT ${randomUUID()}::uuid, ${userId}::uuid, ${input.name}::text, ${input.productType}::text,
      ${typeof input.status === "string" ? input.status : "draft"}::text, ${JSON.stringify(input.document)}::jsonb, 1,
      ${at}::timestamptz, ${at}::timestamptz
    FROM charged
    RETURNING ${columns}`)
  if (row === undefined) return send(response, 402)
  send(response, 201, JSON.stringify(toView(row)))
}

const DESIGN_PATH = /^\/api\/v1\/designs\/([^/?]+)$/

const server = createServer((request, response) => {
  const path = (request.url ?? "/").split("?")[0]!
  const handle = async () => {
    if (request.method === "GET" && path === "/health") return send(response, 200, "{\"status\":\"healthy\"}")
    const design = DESIGN_PATH.exec(path)
    const isCreate = request.method === "POST" && path === "/api/v1/designs"
    const isGet = request.method === "GET" && design !== null
    if (!isCreate && !isGet) return send(response, 404)
    const userId = await authenticate(request)
    if (userId === undefined) return send(response, 401)
    if (isGet) return UUID.test(design![1]!) ? getDesign(userId, design![1]!, response) : send(response, 404)
    return createDesign(userId, request, response)
  }
  handle().catch((error: unknown) => {
    console.error("baseline: request failed", error)
    if (!response.headersSent) send(response, 500)
    else response.destroy()
  })
})

server.listen(Number(env("PORT", "3100")), env("HOST", "127.0.0.1"))

const shutdown = () => {
  server.close()
  server.closeAllConnections()
  redis.disconnect()
  void db.close().finally(() => process.exit(0))
}
process.once("SIGTERM", shutdown)
process.once("SIGINT", shutdown)
