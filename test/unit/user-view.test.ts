import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { SignedIn } from "../../src/api/Auth.ts"
import { UserPage, UserView } from "../../src/api/Users.ts"
import type { Account } from "../../src/domain/Account.ts"
import type { UserId } from "../../src/domain/User.ts"

const PASSWORD_HASH = "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"

const account: Account = {
  id: "3f1b8c3e-2f7a-4c1e-9a57-0c2b9d3e4f5a" as UserId,
  email: "alice@example.com",
  passwordHash: PASSWORD_HASH,
  fullName: "Alice",
  avatarUrl: null,
  role: "user",
  disabled: false,
  createdAt: new Date("2026-01-01T00:00:00.000Z"),
  updatedAt: new Date("2026-01-02T00:00:00.000Z")
}

/** A response body as the server writes it: the JSON codec, without re-running checks. */
const responseBody = (schema: Schema.Codec<unknown, unknown>, value: unknown) =>
  JSON.stringify(Schema.encodeUnknownSync(Schema.toCodecJson(schema))(value, { disableChecks: true }))

describe("the User view of an account", () => {
  it("never carries the password hash, wherever a response embeds it", () => {
    const tokens = { accessToken: "a.b.c", refreshToken: "a.b", tokenType: "Bearer", expiresIn: 900 }
    for (
      const body of [
        responseBody(UserView, account),
        responseBody(UserPage, { data: [account], nextCursor: null }),
        responseBody(SignedIn, { user: account, tokens })
      ]
    ) {
      expect(body).not.toContain("passwordHash")
      expect(body).not.toContain(PASSWORD_HASH)
    }
  })

  it("carries exactly the public fields: a new field of Account is shown only by decision", () => {
    expect(JSON.parse(responseBody(UserView, account))).toEqual({
      id: account.id,
      email: "alice@example.com",
      fullName: "Alice",
      avatarUrl: null,
      role: "user",
      disabled: false,
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-02T00:00:00.000Z"
    })
  })
})
