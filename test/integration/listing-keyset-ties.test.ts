import { randomUUID } from "node:crypto"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { uniqueEmail, validDocument } from "../support/http.ts"
import { directQuery } from "../support/directSql.ts"
import { sharedApps } from "../support/sharedApps.ts"
import { ok, typedClient } from "../support/typedClient.ts"

/**
 * Keyset pages of a design's uploads and render jobs when many rows share one creation instant
 * (two instances writing in the same millisecond) and rows keep coming between pages, at that
 * same instant too: no row that existed when the walk began is skipped or repeated, and the walk
 * is in list order. Ids as upper case in the path change nothing.
 */
const apps = sharedApps(2)
beforeAll(apps.start, 60_000)
afterAll(apps.stop)
const a = typedClient(() => apps.app(0))
const b = typedClient(() => apps.app(1))

const query = directQuery(apps.databaseUrl)

const INSTANTS = [new Date("2026-01-01T00:00:00.001Z"), new Date("2026-01-01T00:00:00.002Z"), new Date("2026-01-01T00:00:00.003Z")]

const insertAsset = (ownerId: string, designId: string, at: Date) => {
  const id = randomUUID()
  return query((sql) =>
    sql`INSERT INTO assets (id, owner_id, design_id, key, file_name, content_type, byte_size, status, created_at)
      VALUES (${id}, ${ownerId}, ${designId}, ${`users/${ownerId}/designs/${designId}/${id}/a.png`}, 'a.png', 'image/png', 68, 'pending', ${at})`
  ).then(() => id)
}
const insertJob = (ownerId: string, designId: string, at: Date) => {
  const id = randomUUID()
  return query((sql) =>
    sql`INSERT INTO render_jobs (id, owner_id, design_id, kind, status, created_at, updated_at)
      VALUES (${id}, ${ownerId}, ${designId}, 'render', 'queued', ${at}, ${at})`
  ).then(() => id)
}

const walk = async (
  page: (via: typeof a, cursor: string | undefined) => Promise<{ data: ReadonlyArray<{ id: string; createdAt: Date }>; nextCursor: string | null }>,
  between: () => Promise<unknown>
) => {
  const seen: Array<{ id: string; createdAt: Date }> = []
  let cursor: string | undefined
  for (let i = 0; ; i++) {
    if (i > 60) throw new Error("the walk does not end: pages repeat rows")
    const answer = await page(i % 2 === 0 ? a : b, cursor)
    seen.push(...answer.data)
    if (answer.nextCursor === null) return seen
    cursor = answer.nextCursor
    await between()
  }
}

describe("keyset pages with equal creation times while rows are inserted", () => {
  for (const kind of ["assets", "jobs"] as const) {
    it(`${kind}: every row present at the start is listed exactly once, in order`, async () => {
      const { tokens, user } = await ok(a().auth.register({ payload: { email: uniqueEmail(), password: "correct horse battery", fullName: "K" } }), 201)
      const design = await ok(a(tokens.accessToken).designs.create({ payload: { name: "K", productType: "mug", document: validDocument() } }), 201)
      const insert = kind === "assets" ? insertAsset : insertJob
      const initial = new Set<string>()
      for (let i = 0; i < 24; i++) initial.add(await insert(user.id, design.id, INSTANTS[i % 3]!))
      const upper = design.id.toUpperCase() as typeof design.id
      const seen = await walk(
        (via, cursor) => {
          const request = { params: { id: upper }, query: { limit: 5, ...(cursor === undefined ? {} : { cursor }) } }
          return kind === "assets" ? ok(via(tokens.accessToken).assets.list(request)) : ok(via(tokens.accessToken).jobs.listForDesign(request))
        },
        // Rows at every instant come in between pages (some before, some after the cursor).
        () => Promise.all(INSTANTS.map((at) => insert(user.id, design.id, at)))
      )
      const ids = seen.map((row) => row.id)
      expect(new Set(ids).size, "no row twice").toBe(ids.length)
      for (const id of initial) expect(ids, `row ${id} skipped`).toContain(id)
      const order = seen.map((row) => [new Date(row.createdAt).getTime(), row.id] as const)
      const sorted = [...order].sort((x, y) => y[0] - x[0] || (x[1] < y[1] ? 1 : x[1] > y[1] ? -1 : 0))
      expect(order).toEqual(sorted)
    }, 60_000)
  }
})
