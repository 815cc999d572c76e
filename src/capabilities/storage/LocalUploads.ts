import { Context, Data, type Effect, type Option, type Stream } from "effect"
import type { StorageUnavailable } from "./StorageService.ts"

/** Why the local backend refuses a request on one of its URLs. */
export type LocalUploadRefusal =
  | { readonly _tag: "InvalidToken" }
  | { readonly _tag: "Expired" }
  | { readonly _tag: "ContentTypeMismatch"; readonly expected: string }
  | { readonly _tag: "TooLarge"; readonly maxBytes: number }
  /** `received` when the whole body was counted; a body that overran is refused before its end. */
  | { readonly _tag: "SizeMismatch"; readonly expected: number; readonly received?: number }
  | { readonly _tag: "UnreadableBody" }
  | { readonly _tag: "NotFound" }

export class LocalUploadRefused extends Data.TaggedError("LocalUploadRefused")<{
  readonly reason: LocalUploadRefusal
}> {}

/** A PUT to an upload URL, as the client sent it. */
export interface IncomingUpload {
  /** The `Content-Type` header, parameters included. */
  readonly contentType: string | undefined
  /** The `Content-Length` header, if any (`NaN` when it is not a number). */
  readonly contentLength: number | undefined
  readonly body: Stream.Stream<Uint8Array, unknown>
}

/** What a download URL serves. */
export interface OpenedObject {
  readonly stream: Stream.Stream<Uint8Array, StorageUnavailable>
  readonly contentType: string
  readonly byteSize: number
  /** When the URL's grant ends: how long the object may be cached. */
  readonly expiresAt: Date
}

/**
 * The other side of the local backend's URLs (`PUBLIC_BASE_URL/uploads/<token>`): `receive`
 * stores the body of a PUT to an upload URL, `open` reads what a download URL grants. The
 * token is checked first: signed by this server, for this method, not expired.
 */
export interface LocalUploadsService {
  readonly receive: (token: string, upload: IncomingUpload) => Effect.Effect<void, LocalUploadRefused | StorageUnavailable>
  readonly open: (token: string) => Effect.Effect<OpenedObject, LocalUploadRefused | StorageUnavailable>
}

/** `None` when storage is not local: nothing is served from this API then. */
export class LocalUploads extends Context.Service<LocalUploads, Option.Option<LocalUploadsService>>()(
  "customify/capabilities/storage/LocalUploads"
) {}
