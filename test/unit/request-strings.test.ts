import { expect, it } from "vitest"
import { requestStrings } from "../support/requestStrings.ts"

/**
 * Every string a request may carry (path, query, headers, body of every endpoint of CoreApi)
 * refuses NUL, which PostgreSQL cannot store: by the shared check of src/domain/Primitives.ts
 * (`isStorableText`), which the string building blocks there all carry. A new field declared with
 * a bare `Schema.String` fails here, before any request could carry a NUL to SQL.
 */
it("every string of every request schema refuses NUL", () => {
  const strings = requestStrings()
  expect(strings.length).toBeGreaterThan(50)
  for (const location of ["path", "query", "header", "body"]) expect(strings.some((s) => s.location === location), location).toBe(true)
  const unchecked = strings.filter((s) => !s.checks.includes("storable text: no NUL characters, no lone surrogates"))
  expect(unchecked.map((s) => `${s.key} ${s.location} ${s.path}: ${s.checks.join(", ")}`)).toEqual([])
})
