import { describe, it } from "@effect/vitest"
import { Cause, Exit, Schema, SchemaIssue } from "effect"
import fc from "fast-check"
import { expect } from "vitest"
import {
  canvasSizeMm,
  DesignDocument,
  FONT_FAMILIES,
  MAX_DOCUMENT_BYTES,
  MAX_LAYERS
} from "../../src/domain/DesignDocument.ts"

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>

const CANVAS = { width: 800, height: 600, unit: "px", dpi: 300, background: "#ffffff" }
const TEXT_LAYER = {
  id: "l1",
  type: "text",
  x: 10,
  y: 10,
  width: 200,
  height: 50,
  rotation: 0,
  opacity: 1,
  zIndex: 1,
  content: "Hello",
  fontFamily: "Inter",
  fontSize: 24,
  color: "#000000",
  align: "left"
}
const IMAGE_LAYER = {
  id: "img",
  type: "image",
  x: 0,
  y: 0,
  width: 100,
  height: 100,
  rotation: 0,
  opacity: 1,
  zIndex: 2,
  assetId: "3f1c2f4e-7b8a-4c1d-9e2f-0a1b2c3d4e5f"
}
const SHAPE_LAYER = {
  id: "shp",
  type: "shape",
  x: 0,
  y: 0,
  width: 50,
  height: 50,
  rotation: 45,
  opacity: 0.5,
  zIndex: 3,
  shape: "rect",
  fill: "#ff0000",
  stroke: null
}
const EXAMPLE = { canvas: CANVAS, layers: [TEXT_LAYER] }

const withCanvas = (patch: Json) => ({ canvas: { ...CANVAS, ...patch }, layers: [TEXT_LAYER] })
const withText = (patch: Json) => ({ canvas: CANVAS, layers: [{ ...TEXT_LAYER, ...patch }] })
const withImage = (patch: Json) => ({ canvas: CANVAS, layers: [{ ...IMAGE_LAYER, ...patch }] })
const withShape = (patch: Json) => ({ canvas: CANVAS, layers: [{ ...SHAPE_LAYER, ...patch }] })

const decodeAll = Schema.decodeUnknownExit(DesignDocument, { errors: "all" })
const decodeFirst = Schema.decodeUnknownExit(DesignDocument)
const encode = Schema.encodeSync(DesignDocument)
const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

interface Issue {
  readonly path: string
  readonly message: string
}

/** The issues of a failed decoding as dotted paths, or "ok"; anything but a SchemaError is a test failure. */
const check = (input: unknown, decode = decodeAll): "ok" | ReadonlyArray<Issue> => {
  const exit = decode(input)
  if (Exit.isSuccess(exit)) return "ok"
  const error = Cause.squash(exit.cause)
  if (!Schema.isSchemaError(error)) throw new Error(`Not a schema error: ${String(error)}`)
  return formatter(error.issue).issues.map((issue) => ({
    path: (issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment)).join("."),
    message: issue.message
  }))
}

const expectValid = (input: unknown) => expect(check(input)).toBe("ok")

/** Rejected, and at least one issue is at `path`. */
const expectRejectedAt = (input: unknown, path: string) => {
  const result = check(input)
  expect(result).not.toBe("ok")
  expect((result as ReadonlyArray<Issue>).map((issue) => issue.path)).toContain(path)
}

const byteLength = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8")

const textLayer = (id: string, content: string) => ({ ...TEXT_LAYER, id, content })

/** A document of valid text layers whose encoded size is exactly `target` bytes. */
const documentOfSize = (target: number) => {
  const layers: Array<ReturnType<typeof textLayer>> = []
  for (let i = 0; byteLength({ canvas: CANVAS, layers }) < target; i++) {
    layers.push(textLayer(`layer-${i}`, "x".repeat(2_000)))
  }
  let over = byteLength({ canvas: CANVAS, layers }) - target
  // Trim from the last layers until the size matches; every content keeps at least one character.
  for (let i = layers.length - 1; over > 0 && i >= 0; i--) {
    const cut = Math.min(over, layers[i]!.content.length - 1)
    layers[i] = { ...layers[i]!, content: "x".repeat(layers[i]!.content.length - cut) }
    over -= cut
  }
  return { canvas: CANVAS, layers }
}

// ---------------------------------------------------------------------------------------------
// Example-based tests
// ---------------------------------------------------------------------------------------------

describe("DesignDocument: the example", () => {
  it("decodes the documented example unchanged", () => {
    const exit = decodeAll(EXAMPLE)
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) expect(exit.value).toEqual(EXAMPLE)
  })

  it("accepts image and shape layers alongside text", () => {
    expectValid({ canvas: CANVAS, layers: [TEXT_LAYER, IMAGE_LAYER, SHAPE_LAYER] })
  })

  it("accepts an empty layer list", () => {
    expectValid({ canvas: CANVAS, layers: [] })
  })

  it("rejects non-objects and missing keys", () => {
    for (const input of [null, undefined, 42, "doc", [], true]) expect(check(input)).not.toBe("ok")
    expect(check({})).toEqual([
      { path: "canvas", message: "Missing key" },
      { path: "layers", message: "Missing key" }
    ])
  })

  it("rejects a numeric field given as a string", () => {
    expectRejectedAt(withCanvas({ width: "800" }), "canvas.width")
  })
})

describe("DesignDocument: canvas bounds", () => {
  it.each([1, 10_000, 0.5 + 1, 9_999.999])("width %s is accepted", (width) => {
    expectValid(withCanvas({ width }))
  })

  it.each([0, 0.999, 10_000.001, 10_001, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    "width %s is rejected",
    (width) => {
      expectRejectedAt(withCanvas({ width }), "canvas.width")
    }
  )

  it.each([1, 10_000])("height %s is accepted", (height) => {
    expectValid(withCanvas({ height }))
  })

  it.each([0, 10_001, Number.NEGATIVE_INFINITY])("height %s is rejected", (height) => {
    expectRejectedAt(withCanvas({ height }), "canvas.height")
  })

  it.each([72, 1_200, 300])("dpi %s is accepted", (dpi) => {
    expectValid(withCanvas({ dpi }))
  })

  it.each([71, 1_201, 0, 300.5])("dpi %s is rejected", (dpi) => {
    expectRejectedAt(withCanvas({ dpi }), "canvas.dpi")
  })

  it.each(["px", "mm", "in"])("unit %s is accepted", (unit) => {
    expectValid(withCanvas({ unit }))
  })

  it.each(["cm", "PX", "", "pt"])("unit %j is rejected", (unit) => {
    expectRejectedAt(withCanvas({ unit }), "canvas.unit")
  })

  it.each(["#ffffff", "#000000", "#1A2b3C", null])("background %j is accepted", (background) => {
    expectValid(withCanvas({ background }))
  })

  it.each(["#fff", "ffffff", "#fffffff", "#gggggg", "red", "", "#ffffff "])(
    "background %j is rejected",
    (background) => {
      expectRejectedAt(withCanvas({ background }), "canvas.background")
    }
  )

  it("requires background to be present (null, not missing)", () => {
    const { background: _, ...canvas } = CANVAS
    expectRejectedAt({ canvas, layers: [] }, "canvas.background")
  })
})

describe("DesignDocument: layer bounds", () => {
  it.each([-360, 360, 0, 359.9, -359.9])("rotation %s is accepted", (rotation) => {
    expectValid(withText({ rotation }))
  })

  it.each([-360.001, 360.001, 361, -361])("rotation %s is rejected", (rotation) => {
    expectRejectedAt(withText({ rotation }), "layers.0.rotation")
  })

  it.each([0, 1, 0.5])("opacity %s is accepted", (opacity) => {
    expectValid(withShape({ opacity }))
  })

  it.each([-0.001, 1.001, 2, -1])("opacity %s is rejected", (opacity) => {
    expectRejectedAt(withShape({ opacity }), "layers.0.opacity")
  })

  it.each([-10_000, 10_000])("zIndex %s is accepted", (zIndex) => {
    expectValid(withText({ zIndex }))
  })

  it.each([-10_001, 10_001, 1.5])("zIndex %s is rejected", (zIndex) => {
    expectRejectedAt(withText({ zIndex }), "layers.0.zIndex")
  })

  it("x/y are bounded by ±100000 and width/height by 0..100000", () => {
    expectValid(withText({ x: -100_000, y: 100_000, width: 0, height: 100_000 }))
    expectRejectedAt(withText({ x: -100_001 }), "layers.0.x")
    expectRejectedAt(withText({ y: 100_001 }), "layers.0.y")
    expectRejectedAt(withText({ width: -1 }), "layers.0.width")
    expectRejectedAt(withText({ height: 100_001 }), "layers.0.height")
  })

  it.each(["a", "A-z_09", "x".repeat(64)])("layer id %j is accepted", (id) => {
    expectValid(withText({ id }))
  })

  it.each(["", "x".repeat(65), "has space", "dot.ted", "ü"])("layer id %j is rejected", (id) => {
    expectRejectedAt(withText({ id }), "layers.0.id")
  })

  it("text content is 1 to 2000 characters", () => {
    expectValid(withText({ content: "x" }))
    expectValid(withText({ content: "x".repeat(2_000) }))
    expectRejectedAt(withText({ content: "" }), "layers.0.content")
    expectRejectedAt(withText({ content: "x".repeat(2_001) }), "layers.0.content")
    expectRejectedAt(withText({ content: "a\u0000b" }), "layers.0.content")
  })

  it.each(["Inter", "Roboto", "Open Sans", "Lobster", "Playfair Display", ...FONT_FAMILIES])(
    "font family %j is accepted",
    (fontFamily) => {
      expectValid(withText({ fontFamily }))
    }
  )

  it.each(["Comic Sans MS", "inter", "Arial", "", "Open  Sans"])("font family %j is rejected", (fontFamily) => {
    expectRejectedAt(withText({ fontFamily }), "layers.0.fontFamily")
  })

  it("fontSize is 1..1000", () => {
    expectValid(withText({ fontSize: 1 }))
    expectValid(withText({ fontSize: 1_000 }))
    expectRejectedAt(withText({ fontSize: 0 }), "layers.0.fontSize")
    expectRejectedAt(withText({ fontSize: 1_001 }), "layers.0.fontSize")
  })

  it("text color must be #rrggbb (null is not allowed)", () => {
    expectRejectedAt(withText({ color: "#000" }), "layers.0.color")
    expectRejectedAt(withText({ color: null }), "layers.0.color")
  })

  it.each(["left", "center", "right"])("align %s is accepted", (align) => {
    expectValid(withText({ align }))
  })

  it.each(["justify", "LEFT", ""])("align %j is rejected", (align) => {
    expectRejectedAt(withText({ align }), "layers.0.align")
  })

  it("image assetId must be a UUID; a URL is rejected", () => {
    expectValid(withImage({ assetId: "3F1C2F4E-7B8A-4C1D-9E2F-0A1B2C3D4E5F" }))
    expectRejectedAt(withImage({ assetId: "https://example.com/cat.png" }), "layers.0.assetId")
    expectRejectedAt(withImage({ assetId: "not-a-uuid" }), "layers.0.assetId")
    expectRejectedAt(withImage({ assetId: "3f1c2f4e7b8a4c1d9e2f0a1b2c3d4e5f" }), "layers.0.assetId")
  })

  it.each(["rect", "ellipse", "line"])("shape %s is accepted", (shape) => {
    expectValid(withShape({ shape }))
  })

  it.each(["circle", "polygon", "RECT"])("shape %j is rejected", (shape) => {
    expectRejectedAt(withShape({ shape }), "layers.0.shape")
  })

  it("shape fill and stroke are #rrggbb or null", () => {
    expectValid(withShape({ fill: null, stroke: null }))
    expectValid(withShape({ fill: "#abcdef", stroke: "#ABCDEF" }))
    expectRejectedAt(withShape({ fill: "#abc" }), "layers.0.fill")
    expectRejectedAt(withShape({ stroke: "blue" }), "layers.0.stroke")
  })

  it("an unknown layer type is rejected at the layer", () => {
    expectRejectedAt(withText({ type: "video" }), "layers.0")
    expectRejectedAt(withText({ type: undefined }), "layers.0")
    // An image layer relabelled "text" is checked as text (missing its text fields), not accepted as an image.
    const relabelled = check({ canvas: CANVAS, layers: [{ ...IMAGE_LAYER, type: "text" }] }) as ReadonlyArray<Issue>
    expect(relabelled).not.toBe("ok")
    expect(relabelled.map((issue) => issue.path)).toEqual(expect.arrayContaining(["layers.0.content", "layers.0.fontFamily"]))
  })
})

describe("DesignDocument: layer list", () => {
  const layers = (count: number) => Array.from({ length: count }, (_, i) => textLayer(`l${i}`, "Hi"))

  it(`accepts ${MAX_LAYERS} layers and rejects ${MAX_LAYERS + 1}`, () => {
    expect(MAX_LAYERS).toBe(200)
    expectValid({ canvas: CANVAS, layers: layers(200) })
    expectRejectedAt({ canvas: CANVAS, layers: layers(201) }, "layers")
  })

  it("rejects duplicate layer ids at the duplicate's index", () => {
    const input = {
      canvas: CANVAS,
      layers: [textLayer("a", "1"), textLayer("b", "2"), textLayer("a", "3"), textLayer("c", "4")]
    }
    const result = check(input)
    expect(result).not.toBe("ok")
    expect(result).toHaveLength(1)
    const [issue] = result as ReadonlyArray<Issue>
    expect(issue!.path).toBe("layers.2.id")
    expect(issue!.message).toContain("\"a\"")
  })

  it("reports every duplicate at its own index", () => {
    const input = {
      canvas: CANVAS,
      layers: [textLayer("a", "1"), textLayer("a", "2"), textLayer("b", "3"), textLayer("b", "4"), textLayer("a", "5")]
    }
    const result = check(input) as ReadonlyArray<Issue>
    expect(result.map((issue) => issue.path)).toEqual(["layers.1.id", "layers.3.id", "layers.4.id"])
  })

  it("ids are unique across layer types", () => {
    expectRejectedAt({ canvas: CANVAS, layers: [{ ...IMAGE_LAYER, id: "x" }, { ...SHAPE_LAYER, id: "x" }] }, "layers.1.id")
  })
})

describe("DesignDocument: encoded size", () => {
  it(`accepts a document of exactly ${MAX_DOCUMENT_BYTES} bytes and rejects one byte more`, () => {
    expect(MAX_DOCUMENT_BYTES).toBe(256 * 1024)
    const atLimit = documentOfSize(MAX_DOCUMENT_BYTES)
    expect(byteLength(atLimit)).toBe(MAX_DOCUMENT_BYTES)
    expect(atLimit.layers.length).toBeLessThanOrEqual(MAX_LAYERS)
    expectValid(atLimit)

    const overLimit = documentOfSize(MAX_DOCUMENT_BYTES + 1)
    expect(byteLength(overLimit)).toBe(MAX_DOCUMENT_BYTES + 1)
    expect(overLimit.layers.length).toBeLessThanOrEqual(MAX_LAYERS)
    const result = check(overLimit)
    expect(result).toEqual([{ path: "", message: "Expected a document of at most 256 KiB encoded" }])
  })

  it("rejects 200 layers of 2000 characters (well over 256 KiB) for its size only", () => {
    const input = {
      canvas: CANVAS,
      layers: Array.from({ length: 200 }, (_, i) => textLayer(`l${i}`, "x".repeat(2_000)))
    }
    expect(byteLength(input)).toBeGreaterThan(MAX_DOCUMENT_BYTES)
    expect(check(input)).toEqual([{ path: "", message: "Expected a document of at most 256 KiB encoded" }])
  })

  it("counts UTF-8 bytes, not characters", () => {
    const layers = (char: string) =>
      Array.from({ length: 44 }, (_, i) => textLayer(`l${i}`, char.repeat(2_000)))
    const ascii = { canvas: CANVAS, layers: layers("e") }
    const euro = { canvas: CANVAS, layers: layers("€") } // 3 bytes each in UTF-8
    expect(JSON.stringify(euro).length).toBeLessThan(MAX_DOCUMENT_BYTES)
    expect(byteLength(euro)).toBeGreaterThan(MAX_DOCUMENT_BYTES)
    expectValid(ascii)
    expectRejectedAt(euro, "")
  })
})

describe("DesignDocument: errors: \"all\"", () => {
  it("reports every bad field, each at its path", () => {
    const input = {
      canvas: { width: 0, height: 10_001, unit: "cm", dpi: 71, background: "#fff" },
      layers: [
        { ...TEXT_LAYER, rotation: 361, opacity: 2, fontFamily: "Comic Sans MS" },
        { ...IMAGE_LAYER, assetId: "https://example.com/a.png" },
        { ...SHAPE_LAYER, shape: "circle", fill: "#12" }
      ]
    }
    const result = check(input) as ReadonlyArray<Issue>
    expect(result.map((issue) => issue.path).sort()).toEqual([
      "canvas.background",
      "canvas.dpi",
      "canvas.height",
      "canvas.unit",
      "canvas.width",
      "layers.0.fontFamily",
      "layers.0.opacity",
      "layers.0.rotation",
      "layers.1.assetId",
      "layers.2.fill",
      "layers.2.shape"
    ])
    // The default (first error) mode stops at one.
    expect(check(input, decodeFirst)).toHaveLength(1)
  })
})

describe("canvasSizeMm", () => {
  const canvas = (width: number, height: number, unit: "px" | "mm" | "in", dpi = 300) => ({
    width,
    height,
    unit,
    dpi,
    background: null
  })

  it("px converts through the dpi", () => {
    const size = canvasSizeMm(canvas(600, 300, "px", 300))
    expect(size.width).toBeCloseTo(50.8, 10)
    expect(size.height).toBeCloseTo(25.4, 10)
    const at72 = canvasSizeMm(canvas(72, 144, "px", 72))
    expect(at72.width).toBeCloseTo(25.4, 10)
    expect(at72.height).toBeCloseTo(50.8, 10)
  })

  it("mm is unchanged whatever the dpi", () => {
    expect(canvasSizeMm(canvas(100, 140, "mm", 72))).toEqual({ width: 100, height: 140 })
    expect(canvasSizeMm(canvas(100, 140, "mm", 1_200))).toEqual({ width: 100, height: 140 })
  })

  it("in is 25.4 mm whatever the dpi", () => {
    const size = canvasSizeMm(canvas(2, 3, "in", 1_200))
    expect(size.width).toBeCloseTo(50.8, 10)
    expect(size.height).toBeCloseTo(76.2, 10)
  })

  it("the example is 67.7 x 50.8 mm", () => {
    const size = canvasSizeMm(EXAMPLE.canvas as Parameters<typeof canvasSizeMm>[0])
    expect(size.width).toBeCloseTo(800 * 25.4 / 300, 10)
    expect(size.height).toBeCloseTo(50.8, 10)
  })
})

// ---------------------------------------------------------------------------------------------
// Property-based tests
// ---------------------------------------------------------------------------------------------

const RUNS = 200

const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
const hexColor = fc.stringMatching(/^#[0-9a-fA-F]{6}$/)
const layerId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)

const canvasArb = fc.record({
  width: finite(1, 10_000),
  height: finite(1, 10_000),
  unit: fc.constantFrom("px", "mm", "in"),
  dpi: fc.integer({ min: 72, max: 1_200 }),
  background: fc.option(hexColor, { nil: null })
})

const commonArb = {
  id: layerId,
  x: finite(-100_000, 100_000),
  y: finite(-100_000, 100_000),
  width: finite(0, 100_000),
  height: finite(0, 100_000),
  rotation: finite(-360, 360),
  opacity: finite(0, 1),
  zIndex: fc.integer({ min: -10_000, max: 10_000 })
}

const textArb = fc.record({
  type: fc.constant("text"),
  ...commonArb,
  // Any text but NUL, which PostgreSQL cannot store (refused, see the text layer's checks).
  content: fc.string({ minLength: 1, maxLength: 300, unit: "binary" }).map((text) => text.replaceAll("\u0000", " ")),
  fontFamily: fc.constantFrom(...FONT_FAMILIES),
  fontSize: finite(1, 1_000),
  color: hexColor,
  align: fc.constantFrom("left", "center", "right")
})

const imageArb = fc.record({ type: fc.constant("image"), ...commonArb, assetId: fc.uuid() })

const shapeArb = fc.record({
  type: fc.constant("shape"),
  ...commonArb,
  shape: fc.constantFrom("rect", "ellipse", "line"),
  fill: fc.option(hexColor, { nil: null }),
  stroke: fc.option(hexColor, { nil: null })
})

const layerArb = fc.oneof(textArb, imageArb, shapeArb)

const documentArb = (minLayers = 0) =>
  fc.record({
    canvas: canvasArb,
    layers: fc.uniqueArray(layerArb, { minLength: minLayers, maxLength: 20, selector: (layer) => layer.id })
  })

type GeneratedDocument = typeof documentArb extends (n?: number) => fc.Arbitrary<infer D> ? D : never

/** Values strictly outside [min, max] (or not finite). fast-check counts -0 below 0; numbers do not. */
const outside = (min: number, max: number) =>
  fc.oneof(
    fc.double({ max: min, maxExcluded: true, noNaN: true }).filter((value) => value < min),
    fc.double({ min: max, minExcluded: true, noNaN: true }).filter((value) => value > max),
    fc.constant(Number.NaN)
  )
/** Anything that is not an integer in [min, max]. */
const outsideInt = (min: number, max: number) =>
  fc.oneof(
    outside(min, max),
    fc.integer({ min, max: max - 1 }).map((n) => n + 0.5)
  )
const notHex = fc.oneof(
  fc.constantFrom("#fff", "#12345", "#1234567", "123456", "#gggggg", "", "red"),
  fc.string().filter((s) => !/^#[0-9a-fA-F]{6}$/.test(s))
)

interface Mutation {
  /** The canvas field's path; for a layer mutation, the index of the layer (the path is `layers.<i>...`). */
  readonly path: string
  readonly index?: number
  readonly apply: (document: GeneratedDocument) => unknown
}

const setCanvas = (key: string) => (value: unknown): Mutation => ({
  path: `canvas.${key}`,
  apply: (document) => ({ ...document, canvas: { ...document.canvas, [key]: value } })
})

/** Sets `key: value` on layer `index` (modulo the count), first replaced by `replacement` when given. */
const layerMutation = (key: string, values: fc.Arbitrary<unknown>, replacement?: fc.Arbitrary<Json>) =>
  fc.tuple(values, fc.nat(), replacement ?? fc.constant(undefined)).map(([value, index, base]): Mutation => ({
    path: "",
    index,
    apply: (document) => {
      const i = index % document.layers.length
      const layers: Array<unknown> = [...document.layers]
      const original = document.layers[i]!
      layers[i] = { ...(base ?? original), id: original.id, [key]: value }
      return { ...document, layers }
    }
  }))

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  outside(1, 10_000).map(setCanvas("width")),
  outside(1, 10_000).map(setCanvas("height")),
  outsideInt(72, 1_200).map(setCanvas("dpi")),
  fc.string().filter((s) => !["px", "mm", "in"].includes(s)).map(setCanvas("unit")),
  notHex.map(setCanvas("background")),
  layerMutation("x", outside(-100_000, 100_000)),
  layerMutation("y", outside(-100_000, 100_000)),
  layerMutation("width", outside(0, 100_000)),
  layerMutation("height", outside(0, 100_000)),
  layerMutation("rotation", outside(-360, 360)),
  layerMutation("opacity", outside(0, 1)),
  layerMutation("zIndex", outsideInt(-10_000, 10_000)),
  layerMutation("type", fc.string().filter((s) => !["text", "image", "shape"].includes(s))),
  layerMutation("content", fc.oneof(fc.constant(""), fc.string({ minLength: 2_001, maxLength: 2_100 })), textArb),
  layerMutation("fontFamily", fc.string().filter((s) => !(FONT_FAMILIES as ReadonlyArray<string>).includes(s)), textArb),
  layerMutation("fontSize", outside(1, 1_000), textArb),
  layerMutation("color", fc.oneof(notHex, fc.constant(null)), textArb),
  layerMutation("align", fc.string().filter((s) => !["left", "center", "right"].includes(s)), textArb),
  layerMutation("assetId", fc.oneof(fc.webUrl(), fc.string({ maxLength: 40 })), imageArb),
  layerMutation("shape", fc.string().filter((s) => !["rect", "ellipse", "line"].includes(s)), shapeArb),
  layerMutation("fill", notHex, shapeArb),
  layerMutation("stroke", notHex, shapeArb)
)

/** Where a mutation's issue must be reported, once the layer index is known. */
const expectedPath = (mutation: Mutation, document: GeneratedDocument) =>
  mutation.index === undefined ? mutation.path : `layers.${mutation.index % document.layers.length}`

describe("DesignDocument: properties", () => {
  it("every generated valid document decodes and round-trips", () => {
    fc.assert(
      fc.property(documentArb(), (document) => {
        const exit = decodeAll(document)
        if (Exit.isFailure(exit)) throw new Error(`Rejected: ${JSON.stringify(check(document))}`)
        expect(exit.value).toEqual(document)
        expect(encode(exit.value)).toEqual(document)
        // And the JSON form of it too (what the API stores and returns).
        expect(check(JSON.parse(JSON.stringify(document)))).toBe("ok")
      }),
      { numRuns: RUNS }
    )
  })

  it("every document with one field pushed out of range is rejected at that field", () => {
    fc.assert(
      fc.property(documentArb(1), mutationArb, (document, mutation) => {
        const mutated = mutation.apply(document)
        const result = check(mutated)
        expect(result).not.toBe("ok")
        const prefix = expectedPath(mutation, document)
        const paths = (result as ReadonlyArray<Issue>).map((issue) => issue.path)
        expect(paths.some((path) => path === prefix || path.startsWith(`${prefix}.`))).toBe(true)
      }),
      { numRuns: RUNS }
    )
  })

  it("a duplicated layer id is always rejected at the later index", () => {
    fc.assert(
      fc.property(documentArb(2), fc.nat(), fc.nat(), (document, a, b) => {
        const first = a % document.layers.length
        let second = b % document.layers.length
        if (second === first) second = (first + 1) % document.layers.length
        const [low, high] = first < second ? [first, second] : [second, first]
        const layers = document.layers.map((layer, i) => i === high ? { ...layer, id: document.layers[low]!.id } : layer)
        expect(check({ ...document, layers })).toEqual([
          { path: `layers.${high}.id`, message: `Duplicate layer id "${document.layers[low]!.id}"` }
        ])
      }),
      { numRuns: RUNS }
    )
  })

  it("random values never make decodeUnknownExit throw or die", () => {
    const anything = fc.anything({
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withBigInt: true,
      withDate: true,
      withTypedArray: true,
      withSparseArray: true,
      withObjectString: true,
      withUnicodeString: true
    })
    // Also near-misses: a valid document with one part replaced by anything.
    const nearMiss = fc.oneof(
      fc.tuple(documentArb(1), anything).map(([document, value]) => ({ ...document, canvas: value })),
      fc.tuple(documentArb(1), anything).map(([document, value]) => ({ ...document, layers: value })),
      fc.tuple(documentArb(1), anything, fc.nat()).map(([document, value, i]) => ({
        ...document,
        layers: document.layers.map((layer, j) => j === i % document.layers.length ? value : layer)
      })),
      fc.tuple(documentArb(1), fc.dictionary(fc.string(), anything)).map(([document, extra]) => ({
        ...document,
        ...extra,
        canvas: { ...document.canvas, ...extra },
        layers: document.layers.map((layer) => ({ ...extra, ...layer }))
      }))
    )
    fc.assert(
      fc.property(fc.oneof(anything, fc.jsonValue(), nearMiss), (input) => {
        const exit = decodeAll(input)
        expect(Exit.isExit(exit)).toBe(true)
        if (Exit.isFailure(exit)) {
          expect(exit.cause.reasons).toHaveLength(1)
          expect(Cause.isFailReason(exit.cause.reasons[0]!)).toBe(true)
          expect(Schema.isSchemaError(Cause.squash(exit.cause))).toBe(true)
        }
        expect(Exit.isExit(decodeFirst(input))).toBe(true)
      }),
      { numRuns: RUNS * 2 }
    )
  })
})
