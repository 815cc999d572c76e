import { Schema } from "effect"
import { int32Between, isStorableText, matching, Uuid } from "./Primitives.ts"

/**
 * The design document: the one schema behind request validation, database writes and the
 * OpenAPI document. Every bound is explicit so that no document can be expensive to store,
 * render or validate.
 */
export const MAX_LAYERS = 200
export const MAX_DOCUMENT_BYTES = 256 * 1024

export const FONT_FAMILIES = [
  "Inter",
  "Roboto",
  "Open Sans",
  "Lato",
  "Montserrat",
  "Oswald",
  "Poppins",
  "Lobster",
  "Pacifico",
  "Playfair Display",
  "Merriweather",
  "Bebas Neue"
] as const

const between = (minimum: number, maximum: number) => Schema.Finite.check(Schema.isBetween({ minimum, maximum }))
const intBetween = int32Between

export const HexColor = matching(/^#[0-9a-fA-F]{6}$/u, 7, { message: "Expected a color like #1a2b3c" }).annotate({
  description: "#rrggbb"
})

/** Coordinates and sizes, in the canvas unit; generous but finite. */
const coordinate = between(-100_000, 100_000)
const extent = between(0, 100_000)

export const Canvas = Schema.Struct({
  width: between(1, 10_000),
  height: between(1, 10_000),
  unit: Schema.Literals(["px", "mm", "in"]),
  dpi: intBetween(72, 1_200),
  background: Schema.NullOr(HexColor)
}).annotate({ identifier: "Canvas" })
export type Canvas = typeof Canvas.Type

const layerFields = {
  id: matching(/^[A-Za-z0-9_-]{1,64}$/u, 64, { message: "Expected 1 to 64 letters, digits, _ or -" }),
  x: coordinate,
  y: coordinate,
  width: extent,
  height: extent,
  rotation: between(-360, 360),
  opacity: between(0, 1),
  zIndex: intBetween(-10_000, 10_000)
}

export const TextLayer = Schema.Struct({
  type: Schema.Literal("text"),
  ...layerFields,
  content: Schema.String.check(isStorableText, Schema.isMinLength(1), Schema.isMaxLength(2_000)),
  fontFamily: Schema.Literals(FONT_FAMILIES),
  fontSize: between(1, 1_000),
  color: HexColor,
  align: Schema.Literals(["left", "center", "right"])
}).annotate({ identifier: "TextLayer" })

/** An uploaded asset, by id only: the API never fetches a URL a client supplies. */
export const ImageLayer = Schema.Struct({
  type: Schema.Literal("image"),
  ...layerFields,
  assetId: Uuid
}).annotate({ identifier: "ImageLayer" })

export const ShapeLayer = Schema.Struct({
  type: Schema.Literal("shape"),
  ...layerFields,
  shape: Schema.Literals(["rect", "ellipse", "line"]),
  fill: Schema.NullOr(HexColor),
  stroke: Schema.NullOr(HexColor)
}).annotate({ identifier: "ShapeLayer" })

export const Layer = Schema.Union([TextLayer, ImageLayer, ShapeLayer]).annotate({ identifier: "Layer" })
export type Layer = typeof Layer.Type

/** Each duplicated id is reported at its own index, e.g. `layers.3.id`. */
const uniqueLayerIds = Schema.makeFilter((layers: ReadonlyArray<Layer>) => {
  const seen = new Set<string>()
  const issues: Array<{ path: ReadonlyArray<PropertyKey>; issue: string }> = []
  layers.forEach((layer, index) => {
    if (seen.has(layer.id)) issues.push({ path: [index, "id"], issue: `Duplicate layer id "${layer.id}"` })
    seen.add(layer.id)
  })
  return issues.length === 0 ? undefined : issues
}, { expected: "layers with unique ids" })

const withinSizeLimit = Schema.makeFilter(
  (document: { readonly canvas: Canvas; readonly layers: ReadonlyArray<Layer> }) =>
    new TextEncoder().encode(JSON.stringify(document)).length <= MAX_DOCUMENT_BYTES ||
    `Expected a document of at most ${MAX_DOCUMENT_BYTES / 1024} KiB encoded`,
  { expected: `a document of at most ${MAX_DOCUMENT_BYTES / 1024} KiB` }
)

export const DesignDocument = Schema.Struct({
  canvas: Canvas,
  layers: Schema.Array(Layer).check(Schema.isMaxLength(MAX_LAYERS), uniqueLayerIds)
}).check(withinSizeLimit).annotate({ identifier: "DesignDocument" })
export type DesignDocument = typeof DesignDocument.Type

const MM_PER_INCH = 25.4

/** The canvas size in millimetres, whatever unit it was drawn in. */
export const canvasSizeMm = (canvas: Canvas): { readonly width: number; readonly height: number } => {
  const factor = canvas.unit === "mm" ? 1 : canvas.unit === "in" ? MM_PER_INCH : MM_PER_INCH / canvas.dpi
  return { width: canvas.width * factor, height: canvas.height * factor }
}
