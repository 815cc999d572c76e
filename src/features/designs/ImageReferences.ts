import { Context, type Effect } from "effect"
import type { DatabaseUnavailable } from "../../capabilities/database/DatabaseUnavailable.ts"
import type { InvalidAssetReference } from "../../domain/Asset.ts"
import type { DesignDocument } from "../../domain/DesignDocument.ts"
import type { UserId } from "../../domain/User.ts"

/**
 * A port: the assets feature (which builds on designs) implements it, so designs can check a
 * document's image layers without importing assets. Every image layer must show a completed
 * upload of the design's owner; the others fail as `InvalidAssetReference`, by path.
 */
export class ImageReferences extends Context.Service<ImageReferences, {
  readonly check: (ownerId: UserId, document: DesignDocument) => Effect.Effect<void, InvalidAssetReference | DatabaseUnavailable>
}>()("customify/features/designs/ImageReferences") {}
