import { randomUUID } from "node:crypto"
import { SessionRevoked } from "../../domain/AuthErrors.ts"
import { Clock, Context, Duration, Effect, Layer, Option } from "effect"
import { LanguageModel } from "../../capabilities/ai/LanguageModel.ts"
import * as ReadThrough from "../../capabilities/cache/ReadThrough.ts"
import { Transactions } from "../../capabilities/database/Transactions.ts"
import { JobQueue } from "../../capabilities/queue/JobQueue.ts"
import { VectorIndex } from "../../capabilities/vectors/VectorIndex.ts"
import { Design, type DesignChanges, DesignId, type DesignStatus, MAX_DESIGN_NAME, type Product } from "../../domain/Design.ts"
import { canvasSizeMm, type DesignDocument } from "../../domain/DesignDocument.ts"
import { makeKeysetCursor } from "../../domain/Pagination.ts"
import { INT32_MAX } from "../../domain/Primitives.ts"
import { DesignInvalid, DesignNotFound, QuotaExceeded, SubscriptionInactive, VersionConflict } from "../../domain/DesignErrors.ts"
import { type Actor, authorize } from "../../domain/Policy.ts"
import { periodContaining } from "../../domain/Quota.ts"
import type { UserId } from "../../domain/User.ts"
import { type AssetReferenceLost, InvalidAssetReference } from "../../domain/Asset.ts"
import { DesignUsage } from "../subscriptions/DesignUsage.ts"
import { requireActive, SubscriptionLookup } from "../subscriptions/Subscriptions.ts"
import { DesignsRepository, type NewDesign } from "./DesignsRepository.ts"
import { ImageReferences } from "./ImageReferences.ts"
import { answerOf, type DesignAnswer, designOf, entryCodec } from "./DesignAnswers.ts"
import { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"

/** Tolerance for rounding between units when comparing a canvas with a printable area. */
const PRINTABLE_TOLERANCE_MM = 0.5

/**
 * Design reads, cached in the shared cache (60 s, invalidated on every write) as their answers:
 * the encoded body with its owner and version (`DesignAnswer`, ADR 0020).
 */
export class DesignLookup extends Context.Service<DesignLookup, {
  readonly live: (id: DesignId) => Effect.Effect<Option.Option<Design>, DatabaseUnavailable>
  readonly answer: (id: DesignId) => Effect.Effect<Option.Option<DesignAnswer>, DatabaseUnavailable>
  readonly invalidate: (id: DesignId) => Effect.Effect<void>
}>()("customify/features/designs/DesignLookup") {}

export const layerLookup = Layer.effect(DesignLookup, Effect.gen(function*() {
  const repository = yield* DesignsRepository
  // Key version 1 as before: an entry of the former format is unreadable here, and replaced (ADR 0016).
  const cache = yield* ReadThrough.make({ namespace: "design", version: 1, codec: entryCodec, timeToLive: Duration.seconds(60) })
  const answer = (id: DesignId) => cache.get(id, Effect.map(repository.findLive(id), Option.map(answerOf)))
  return DesignLookup.of({
    // A cached body this release cannot read as a design (another release's, damaged) is no
    // reason to call a live design missing: PostgreSQL answers then.
    live: (id) =>
      Effect.flatMap(answer(id), (found) => {
        if (Option.isNone(found)) return Effect.succeed(Option.none())
        const design = designOf(found.value)
        return Option.isSome(design) ? Effect.succeed(design) : repository.findLive(id)
      }),
    answer,
    invalidate: (id) => cache.invalidate(id)
  })
}))

/** The quota counter creates and duplicates charge, for the subscriptions feature's usage reports. */
export const layerDesignUsage = Layer.effect(
  DesignUsage,
  Effect.map(Effect.service(DesignsRepository), (repository) => DesignUsage.of({ used: repository.usage }))
)

/** Similar-design search needs an embedding model and a vector index; without both, indexing does nothing. */
export const designIndexingEnabled: Effect.Effect<boolean, never, LanguageModel | VectorIndex> = Effect.gen(function*() {
  return (yield* LanguageModel).kind !== "unconfigured" && (yield* VectorIndex).kind !== "unconfigured"
})

/**
 * Runs a design write and, when similar-design search is configured, queues the (re)indexing of
 * the design it names in the same unit of work. Without that search the job would be a no-op, and
 * the write runs alone: no queue write, no transaction around a single statement. The job is best
 * effort: a queue outage must not fail the write; the next write indexes the design again.
 */
const writeAndIndex = <A, E, R>(
  write: Effect.Effect<A, E, R>,
  indexed: (result: A) => { readonly id: DesignId; readonly ownerId: UserId } | undefined
) =>
  Effect.gen(function*() {
    if (!(yield* designIndexingEnabled)) return yield* write
    const queue = yield* JobQueue
    const { atomically } = yield* Transactions
    return yield* atomically(Effect.tap(write, (result) => {
      const design = indexed(result)
      return design === undefined
        ? Effect.void
        // Nested: a savepoint, so a failed queue write is undone alone and the design still commits.
        : atomically(queue.enqueue({ _tag: "design.index", designId: design.id, ownerId: design.ownerId })).pipe(
          Effect.catch((error) => Effect.logWarning("designs: indexing not queued", error.cause))
        )
    }))
  })

/** Why `document`'s canvas does not fit `product`'s printable area (nothing when it fits). */
const misfits = (product: Product, document: DesignDocument) => {
  const size = canvasSizeMm(document.canvas)
  return [
    ...(size.width > product.printableWidthMm + PRINTABLE_TOLERANCE_MM
      ? [{ path: "document.canvas.width", message: `${size.width.toFixed(1)} mm exceeds the ${product.name} printable width of ${product.printableWidthMm} mm` }]
      : []),
    ...(size.height > product.printableHeightMm + PRINTABLE_TOLERANCE_MM
      ? [{ path: "document.canvas.height", message: `${size.height.toFixed(1)} mm exceeds the ${product.name} printable height of ${product.printableHeightMm} mm` }]
      : [])
  ]
}

/** The product exists and the canvas fits its printable area. */
const checkProduct = Effect.fnUntraced(function*(productType: string, document: DesignDocument) {
  const products = yield* (yield* DesignsRepository).products
  const product = products.find((p: Product) => p.id === productType)
  if (product === undefined) {
    return yield* new DesignInvalid({
      errors: [{ path: "productType", message: `Unknown product type; one of ${products.map((p) => p.id).join(", ")}` }]
    })
  }
  const errors = misfits(product, document)
  if (errors.length > 0) return yield* new DesignInvalid({ errors })
})

/** Loads a live design the actor may act on; anyone else's is `DesignNotFound`, like a missing one. */
const owned = Effect.fnUntraced(function*(actor: Actor, id: DesignId, action: "read" | "write") {
  const lookup = yield* DesignLookup
  const design = yield* Effect.flatMap(
    action === "read" ? lookup.live(id) : (yield* DesignsRepository).findLive(id),
    Option.match({ onNone: () => Effect.fail(new DesignNotFound()), onSome: Effect.succeed })
  )
  yield* authorize(actor, { kind: "owned", ownerId: design.ownerId }, action, () => new DesignNotFound())
  return design
})

/**

 * The owner whose designs `actor` may write, for writes that carry the policy in their statement:
 * the policy is asked about a design of that owner, so a change to it shows here.
 */
const writableBy = Effect.fnUntraced(function*(actor: Actor) {
  yield* authorize(actor, { kind: "owned", ownerId: actor.userId }, "write", () => new DesignNotFound())
  return actor.userId
})

/**
 * A write whose document the database refused because an upload an image layer shows was
 * deleted meanwhile (it lost the race): the check, run again, names those layers.
 */
const referencesChecked = (ownerId: UserId, document: DesignDocument | undefined) =>
<A, E, R>(write: Effect.Effect<A, E | AssetReferenceLost, R>) =>
  Effect.catchIf(write, (error): error is AssetReferenceLost => (error as { _tag?: unknown })._tag === "AssetReferenceLost", () =>
    Effect.gen(function*() {
      if (document !== undefined) yield* (yield* ImageReferences).check(ownerId, document)
      return yield* new InvalidAssetReference({ paths: ["document.layers"] })
    }))

/** Charges the month's quota and inserts, atomically; only active subscriptions create. */
const insertWithinQuota = Effect.fnUntraced(function*(actor: Actor, design: Omit<NewDesign, "id" | "ownerId">) {
  const subscription = yield* requireActive(actor.userId)
  const period = periodContaining(new Date(yield* Clock.currentTimeMillis))
  return yield* (yield* DesignsRepository).insertCharged(
    { id: randomUUID() as DesignId, ownerId: actor.userId, ...design },
    { periodStart: period.start, limit: subscription.plan.monthlyDesignQuota }
  ).pipe(
    Effect.catchTag("QuotaSpent", (spent) =>
      Effect.fail(new QuotaExceeded({ limit: spent.limit ?? spent.used, used: spent.used, resetsAt: period.end })))
  )
})

export const createDesign = Effect.fn("createDesign")(function*(actor: Actor, input: {
  readonly name: string
  readonly productType: string
  readonly document: DesignDocument
  readonly status?: DesignStatus | undefined
}): Effect.fn.Return<
  Design,
  QuotaExceeded | SubscriptionInactive | DesignInvalid | InvalidAssetReference | SessionRevoked | DatabaseUnavailable,
  DesignsRepository | SubscriptionLookup | JobQueue | ImageReferences | LanguageModel | VectorIndex | Transactions
> {
  yield* checkProduct(input.productType, input.document)
  yield* (yield* ImageReferences).check(actor.userId, input.document)
  return yield* writeAndIndex(insertWithinQuota(actor, { ...input, status: input.status ?? "draft" }), (design) => design).pipe(
    referencesChecked(actor.userId, input.document)
  )
})

export const getDesign = Effect.fn("getDesign")(function*(actor: Actor, id: DesignId) {
  return yield* owned(actor, id, "read")
})

/**
 * The hot read: the design's answer as cached, checked against the policy without decoding it.
 * Untraced, like the rest of a cache hit (a span per read was measurable, ADR 0020).
 */
export const getDesignAnswer = Effect.fnUntraced(function*(actor: Actor, id: DesignId) {
  const found = yield* (yield* DesignLookup).answer(id)
  if (Option.isNone(found)) return yield* new DesignNotFound()
  yield* authorize(actor, { kind: "owned", ownerId: found.value.ownerId }, "read", () => new DesignNotFound())
  return found.value
})

export interface DesignPage {
  readonly data: ReadonlyArray<Design>
  readonly nextCursor: string | null
}

/** Opaque to clients: the last design of a page, by creation time and id (anything else is `InvalidCursor`). */
const Cursor = makeKeysetCursor(DesignId)

/** The caller's live designs, newest first, by keyset: stable while designs are added. */
export const listDesigns = Effect.fn("listDesigns")(function*(actor: Actor, query: {
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
  readonly productType?: string | undefined
  readonly status?: DesignStatus | undefined
}) {
  const limit = query.limit ?? 20
  const after = query.cursor === undefined ? undefined : yield* Cursor.decode(query.cursor)
  const rows = yield* (yield* DesignsRepository).list({
    ownerId: actor.userId,
    limit: limit + 1,
    after,
    productType: query.productType,
    status: query.status
  })
  const data = rows.slice(0, limit)
  return { data, nextCursor: rows.length > limit ? Cursor.encode(data[data.length - 1]!) : null } satisfies DesignPage
})

/**
 * Optimistic concurrency: applies only on top of `expectedVersion`, else `VersionConflict`.
 * One statement on the way that succeeds (ADR 0021): the owner, the version and, for a new
 * document, the products its canvas fits are conditions of the UPDATE rather than a read before
 * it (a design's owner and product never change). Only when nothing was updated is the design
 * read, to answer what a read-first update would have: not found, invalid, then conflict.
 */
export const updateDesign = Effect.fn("updateDesign")(function*(
  actor: Actor,
  id: DesignId,
  expectedVersion: number,
  changes: DesignChanges
) {
  const ownerId = yield* writableBy(actor)
  const repository = yield* DesignsRepository
  const explainRefusal = Effect.gen(function*() {
    const current = yield* owned(actor, id, "write")
    if (changes.document !== undefined) yield* checkProduct(current.productType, changes.document)
    return current
  })
  const document = changes.document
  const fitting = document === undefined
    ? undefined
    : (yield* repository.products).filter((product) => misfits(product, document).length === 0).map((product) => product.id)
  if (document !== undefined) {
    yield* (yield* ImageReferences).check(ownerId, document).pipe(Effect.tapError(() => explainRefusal))
  }
  // After the commit (a read between an earlier invalidation and the commit would cache the old
  // row), and also when the write failed: a commit whose outcome is unknown may have happened.
  const updated = fitting?.length === 0 ? Option.none() : yield* writeAndIndex(
    repository.update(id, { ownerId, expectedVersion, productTypes: fitting }, changes),
    (updated) => Option.isSome(updated) ? updated.value : undefined
  ).pipe(referencesChecked(ownerId, changes.document), Effect.ensuring((yield* DesignLookup).invalidate(id)))
  if (Option.isSome(updated)) return updated.value
  const current = yield* explainRefusal
  if (current.version === expectedVersion && current.version >= INT32_MAX) {
    return yield* new DesignInvalid({
      errors: [{ path: "version", message: "This design has reached its last version; duplicate it to keep editing" }]
    })
  }
  return yield* new VersionConflict({ currentVersion: current.version })
})

/**
 * Soft delete: gone from reads and lists; the quota it used is not given back. Of two deletes
 * at once, the one that did not delete answers `DesignNotFound`, as it would a moment later.
 * One statement (ADR 0021): the policy's rule for an owned resource (its owner alone may write
 * it, anyone else's is not found) is the statement's `owner_id` condition, checked by
 * `writableBy`, instead of a read before the write.
 */
export const deleteDesign = Effect.fn("deleteDesign")(function*(actor: Actor, id: DesignId) {
  const ownerId = yield* writableBy(actor)
  const deleted = yield* writeAndIndex(
    (yield* DesignsRepository).softDelete(id, ownerId),
    (deleted) => deleted ? { id, ownerId } : undefined
  ).pipe(Effect.ensuring((yield* DesignLookup).invalidate(id)))
  if (!deleted) return yield* new DesignNotFound()
})

/** "<name> (copy)", shortened to fit without splitting a character (a surrogate pair). */
const copyName = (name: string) => {
  const suffix = " (copy)"
  if (name.length + suffix.length <= MAX_DESIGN_NAME) return `${name}${suffix}`
  let kept = name.slice(0, MAX_DESIGN_NAME - suffix.length)
  if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1)
  return `${kept}${suffix}`
}

/** A draft copy, counted against the quota like any new design. */
export const duplicateDesign = Effect.fn("duplicateDesign")(function*(actor: Actor, id: DesignId) {
  const original = yield* owned(actor, id, "read")
  return yield* writeAndIndex(
    insertWithinQuota(actor, {
      name: copyName(original.name),
      productType: original.productType,
      status: "draft",
      document: original.document
    }),
    (copy) => copy
  ).pipe(referencesChecked(actor.userId, original.document))
})
