import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { AssetView } from "../../src/api/Assets.ts"
import { JobView } from "../../src/api/Jobs.ts"
import { OrderView } from "../../src/api/Orders.ts"
import { SubscriptionView } from "../../src/api/Subscriptions.ts"
import type { Asset, AssetId } from "../../src/domain/Asset.ts"
import type { DesignId } from "../../src/domain/Design.ts"
import type { RenderJob, RenderJobId } from "../../src/domain/Jobs.ts"
import type { Order, OrderId } from "../../src/domain/Order.ts"
import { summarize } from "../../src/domain/Subscription.ts"
import type { UserId } from "../../src/domain/User.ts"

/** Encodes `value` as a response body is encoded (JSON codec, checks off: see ServerApi.ts). */
const answered = <S extends Schema.Codec<unknown, unknown>>(view: S, value: S["Type"]) =>
  JSON.stringify(Schema.encodeSync(Schema.toCodecJson(view))(value, { disableChecks: true }))

const USER = "0b6c7c0e-5a1f-4b8e-9c1d-2f3a4b5c6d7e" as UserId
const DESIGN = "1c7d8d1f-6b2a-4c9f-8d2e-3a4b5c6d7e8f" as DesignId
const CREATED = new Date("2025-05-10T12:00:00.000Z")
const UPDATED = new Date("2025-05-10T12:01:00.000Z")

/**
 * The views derive from the entities: fields that stay on the server (owners, storage keys) never
 * reach a response, and the JSON is what the hand-written mappers produced, key for key (in
 * order; `JSON.stringify` writes dates as the same ISO strings).
 */
describe("record views", () => {
  it("an asset is answered without its owner and storage key", () => {
    const asset: Asset = {
      id: "2d8e9e2a-7c3b-4daf-9e3f-4b5c6d7e8f90" as AssetId,
      ownerId: USER,
      designId: DESIGN,
      key: `users/${USER}/designs/${DESIGN}/2d8e9e2a-7c3b-4daf-9e3f-4b5c6d7e8f90/logo.png`,
      fileName: "Logo.png",
      contentType: "image/png",
      byteSize: 3 * 1024 * 1024 * 1024,
      status: "complete",
      createdAt: CREATED,
      completedAt: UPDATED
    }
    const { key: _key, ownerId: _owner, ...visible } = asset
    expect(answered(AssetView, asset)).toBe(JSON.stringify(visible))
  })

  it("an order is answered without its user", () => {
    const order: Order = {
      id: "3e9fa03b-8d4c-4eb0-8f40-5c6d7e8f9001" as OrderId,
      externalId: "shopify:1001",
      userId: USER,
      designId: null,
      status: "paid",
      quantity: 2,
      totalCents: 4_200,
      currency: "EUR",
      createdAt: CREATED,
      updatedAt: UPDATED
    }
    const { userId: _, ...visible } = order
    expect(answered(OrderView, order)).toBe(JSON.stringify(visible))
  })

  it("a job is answered without its owner, its id as jobId, and typed clients get the id back", () => {
    const job: RenderJob = {
      id: "4fa0b14c-9e5d-4fc1-9051-6d7e8f900112" as RenderJobId,
      ownerId: USER,
      designId: DESIGN,
      kind: "pdf",
      status: "completed",
      resultUrl: "https://cdn.customify.app/renders/1.pdf",
      error: null,
      createdAt: CREATED,
      updatedAt: UPDATED
    }
    const { id, ownerId: _, ...visible } = job
    const json = answered(JobView, job)
    expect(json).toBe(JSON.stringify({ jobId: id, ...visible }))
    expect(Schema.decodeUnknownSync(Schema.toCodecJson(JobView))(JSON.parse(json))).toEqual({ id, ...visible })
  })

  it("a subscription is answered as its plan, status, current period and limits", () => {
    const subscription = {
      userId: USER,
      plan: { id: "enterprise", name: "Enterprise", monthlyDesignQuota: null },
      status: "active",
      createdAt: CREATED,
      updatedAt: UPDATED
    } as const
    const period = { start: new Date("2025-05-01T00:00:00.000Z"), end: new Date("2025-06-01T00:00:00.000Z") }
    expect(answered(SubscriptionView, summarize(subscription, period))).toBe(JSON.stringify({
      plan: "enterprise",
      status: "active",
      currentPeriodStart: "2025-05-01T00:00:00.000Z",
      currentPeriodEnd: "2025-06-01T00:00:00.000Z",
      limits: { designsPerMonth: null }
    }))
  })
})
