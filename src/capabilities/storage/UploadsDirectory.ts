import { randomUUID } from "node:crypto"
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from "node:fs/promises"
import { dirname, join, relative, resolve, sep } from "node:path"
import { Option, Schema } from "effect"
import type { StoredObject } from "./StorageService.ts"

/**
 * The local backend's files under `root` (`DATA_DIR/uploads`): `objects/<key>` holds the bytes,
 * `meta/<key>.json` the content type; the bytes appear last, whole.
 */

const Meta = Schema.fromJsonString(Schema.Struct({ contentType: Schema.String, byteSize: Schema.Int }))

export const pathsOf = (root: string, key: string) => {
  const object = resolve(root, "objects", key)
  const meta = resolve(root, "meta", `${key}.json`)
  // Keys are checked already; this makes escaping the directory impossible even so.
  if (!object.startsWith(resolve(root, "objects") + sep) || !meta.startsWith(resolve(root, "meta") + sep)) {
    throw new Error(`storage key escapes the uploads directory: ${JSON.stringify(key)}`)
  }
  return { object, meta }
}

const isMissing = (error: unknown) => (error as { readonly code?: string })?.code === "ENOENT"

export const readStored = async (root: string, key: string): Promise<StoredObject | undefined> => {
  const paths = pathsOf(root, key)
  try {
    const [info, meta] = await Promise.all([stat(paths.object), readFile(paths.meta, "utf8")])
    const parsed = Schema.decodeUnknownOption(Meta)(meta)
    return info.isFile() && Option.isSome(parsed) ? { byteSize: info.size, contentType: parsed.value.contentType } : undefined
  } catch (error) {
    if (isMissing(error)) return undefined
    throw error
  }
}

/** The object at `key` opened for reading, with what it is; `undefined` when nothing is stored there. */
export const openStored = async (
  root: string,
  key: string
): Promise<{ readonly stored: StoredObject; readonly handle: FileHandle } | undefined> => {
  const stored = await readStored(root, key)
  if (stored === undefined) return undefined
  return { stored, handle: await open(pathsOf(root, key).object, "r") }
}

/** A new file next to the object's, for the bytes while they arrive; `store` moves it into place. */
export const createPartial = async (root: string, key: string) => {
  const object = pathsOf(root, key).object
  await mkdir(dirname(object), { recursive: true })
  const path = `${object}.${randomUUID()}.part`
  return { path, file: await open(path, "wx") }
}

/** Makes the received bytes at `partial` the object at `key`: its metadata first, then the bytes. */
export const store = async (root: string, key: string, partial: string, stored: StoredObject) => {
  const paths = pathsOf(root, key)
  await mkdir(dirname(paths.meta), { recursive: true })
  const metaPartial = `${paths.meta}.${randomUUID()}.part`
  await writeFile(metaPartial, Schema.encodeSync(Meta)(stored))
  await rename(metaPartial, paths.meta)
  await rename(partial, paths.object)
}

/** Deletes every object whose key starts with `prefix`; returns how many. */
export const deleteStored = async (root: string, prefix: string) => {
  const objects = resolve(root, "objects")
  // Walk only the deepest directory the prefix names, then match the rest of it.
  const directory = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : ""
  const keys = (await walk(objects, resolve(objects, directory)))
    .filter((key) => key.startsWith(prefix) && !key.endsWith(".part"))
  for (const key of keys) {
    const paths = pathsOf(root, key)
    await rm(paths.object, { force: true })
    await rm(paths.meta, { force: true })
    await pruneEmpty(dirname(paths.object), objects)
    await pruneEmpty(dirname(paths.meta), resolve(root, "meta"))
  }
  return keys.length
}

/** Every file under `directory`, as paths relative to `base` with `/` separators. */
const walk = async (base: string, directory: string): Promise<Array<string>> => {
  let entries
  try {
    entries = await readdir(directory, { withFileTypes: true })
  } catch (error) {
    if (isMissing(error)) return []
    throw error
  }
  const files: Array<string> = []
  for (const entry of entries) {
    const path = join(directory, entry.name)
    if (entry.isDirectory()) files.push(...await walk(base, path))
    else if (entry.isFile()) files.push(relative(base, path).split(sep).join("/"))
  }
  return files
}

/** Removes now-empty directories from `from` up to (not including) `stop`. */
const pruneEmpty = async (from: string, stop: string) => {
  let directory = from
  while (directory.startsWith(stop + sep)) {
    try {
      await rmdir(directory)
    } catch {
      return
    }
    directory = dirname(directory)
  }
}
