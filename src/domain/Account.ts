import type { PlanId } from "./Subscription.ts"
import type { Role, UserId } from "./User.ts"

/** A stored account. `passwordHash` never leaves the server: views are built field by field. */
export interface Account {
  readonly id: UserId
  readonly email: string
  readonly passwordHash: string
  readonly fullName: string
  readonly avatarUrl: string | null
  readonly role: Role
  readonly disabled: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface NewAccount {
  readonly id: UserId
  readonly email: string
  readonly passwordHash: string
  readonly fullName: string
  readonly plan: PlanId
}

export interface ProfileChanges {
  readonly fullName?: string
  readonly avatarUrl?: string | null
}

export interface AdminChanges {
  readonly role?: Role
  readonly disabled?: boolean
}
