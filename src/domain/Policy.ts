import { Effect } from "effect"
import { Forbidden } from "./AuthErrors.ts"
import type { Role, UserId } from "./User.ts"

/** Who is calling: a signed-in user (with the session the token belongs to). */
export interface Actor {
  readonly userId: UserId
  readonly role: Role
  readonly sessionId: string
}

export type Resource =
  | { readonly kind: "user-administration" }
  /** Anything a user owns: their profile, designs, orders, jobs. */
  | { readonly kind: "owned"; readonly ownerId: UserId }

export type Action = "read" | "write"

/**
 * `not_found` rather than `forbidden` where telling the two apart would reveal that someone
 * else's resource exists.
 */
export type Decision = "allow" | "forbidden" | "not_found"

/** Every permission rule of the API, in one place. */
export const decide = (actor: Actor, resource: Resource, _action: Action): Decision => {
  switch (resource.kind) {
    case "user-administration":
      return actor.role === "admin" ? "allow" : "forbidden"
    case "owned":
      return resource.ownerId === actor.userId ? "allow" : "not_found"
  }
}

/**
 * The policy as an effect. Owned resources never answer `forbidden` (someone else's is the
 * caller's not-found error); administration answers `Forbidden`.
 */
export function authorize<E>(
  actor: Actor,
  resource: Extract<Resource, { readonly kind: "owned" }>,
  action: Action,
  notFound: () => E
): Effect.Effect<void, E>
export function authorize(
  actor: Actor,
  resource: Extract<Resource, { readonly kind: "user-administration" }>,
  action: Action
): Effect.Effect<void, Forbidden>
export function authorize<E>(
  actor: Actor,
  resource: Resource,
  action: Action,
  notFound?: () => E
): Effect.Effect<void, Forbidden | E> {
  switch (decide(actor, resource, action)) {
    case "allow":
      return Effect.void
    case "forbidden":
      return Effect.fail(new Forbidden())
    case "not_found":
      return notFound === undefined ? Effect.fail(new Forbidden()) : Effect.fail(notFound())
  }
}
