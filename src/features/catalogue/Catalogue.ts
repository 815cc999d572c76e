import { createHash } from "node:crypto"
import { Context, Duration, Effect, Exit, Layer } from "effect"
import type { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import type { Product } from "../../domain/Design.ts"
import type { Plan } from "../../domain/Subscription.ts"
import { DesignsRepository } from "../designs/DesignsRepository.ts"
import { PlansRepository } from "./PlansRepository.ts"

/** A catalogue as it is served: its items and the strong entity tag of their content. */
export interface Tagged<A> {
  readonly items: ReadonlyArray<A>
  /** `"<base64url SHA-256 of the items' JSON>"`, quoted as an ETag header carries it. */
  readonly etag: string
}

/**
 * How long an instance serves a catalogue it read before reading it again: a change of a table
 * is served by every instance within this, and reaches every client's cache within MAX_AGE more.
 */
export const CATALOGUE_TTL = Duration.minutes(1)
/** `Cache-Control: public, max-age` of the catalogue answers. */
export const MAX_AGE = Duration.minutes(5)

/** Products and plans, read through a small in-process cache, each with its entity tag. */
export class Catalogue extends Context.Service<Catalogue, {
  readonly products: Effect.Effect<Tagged<Product>, DatabaseUnavailable>
  readonly plans: Effect.Effect<Tagged<Plan>, DatabaseUnavailable>
}>()("customify/features/catalogue/Catalogue") {}

/** Derived from the content only, so every instance gives the same catalogue the same tag. */
export const entityTag = (items: ReadonlyArray<unknown>): string =>
  `"${createHash("sha256").update(JSON.stringify(items)).digest("base64url")}"`

/**
 * Tags each list read once: a cached read answers the same array until it is read again, so
 * the hash is computed once per CATALOGUE_TTL, not per request.
 */
const tagging = <A>(load: Effect.Effect<ReadonlyArray<A>, DatabaseUnavailable>) => {
  const tags = new WeakMap<ReadonlyArray<A>, Tagged<A>>()
  return Effect.map(load, (items) => {
    const known = tags.get(items)
    if (known !== undefined) return known
    const fresh = { items, etag: entityTag(items) }
    tags.set(items, fresh)
    return fresh
  })
}

/** Only a catalogue that loaded is kept: a failure (an outage) is retried by the next caller. */
const cached = <A>(load: Effect.Effect<ReadonlyArray<A>, DatabaseUnavailable>) =>
  Effect.cachedWithTTL(load, (exit) => Exit.isSuccess(exit) ? CATALOGUE_TTL : Duration.zero)

export const layer = Layer.effect(Catalogue, Effect.gen(function*() {
  const designs = yield* DesignsRepository
  const plans = yield* PlansRepository
  return Catalogue.of({
    // The designs feature reads products through the same in-process cache (CATALOGUE_TTL).
    products: tagging(designs.products),
    plans: tagging(yield* cached(plans.all))
  })
}))
