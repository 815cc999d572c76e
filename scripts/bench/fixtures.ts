/**
 * Request bodies the bench sends: a realistic, valid design document (a T-shirt print, 3000 by
 * 4000 px at 300 dpi, so 254 by 339 mm, inside the 300 by 400 mm printable area; seven text and
 * shape layers, about 2 KiB of JSON).
 */

export const designDocument = (seed: number) => ({
  canvas: { width: 3000, height: 4000, unit: "px", dpi: 300, background: "#ffffff" },
  layers: [
    {
      type: "shape", id: "frame", x: 50, y: 50, width: 2900, height: 3900, rotation: 0, opacity: 1, zIndex: 0,
      shape: "rect", fill: null, stroke: "#222222"
    },
    {
      // A placeholder where the photo goes: image layers must name a completed upload of the
      // owner, which needs object storage the bench does not run.
      type: "shape", id: "photo", x: 400, y: 700, width: 2200, height: 2200, rotation: 0, opacity: 1, zIndex: 1,
      shape: "rect", fill: "#dddddd", stroke: null
    },
    {
      type: "text", id: "title", x: 150, y: 150, width: 2700, height: 400, rotation: 0, opacity: 1, zIndex: 2,
      content: `Customify bench ${seed}`, fontFamily: "Montserrat", fontSize: 160, color: "#1a2b3c", align: "center"
    },
    {
      type: "text", id: "subtitle", x: 150, y: 3100, width: 2700, height: 200, rotation: 0, opacity: 0.9, zIndex: 3,
      content: "Limited edition, printed on demand", fontFamily: "Inter", fontSize: 72, color: "#445566", align: "center"
    },
    {
      type: "shape", id: "badge", x: 2300, y: 2700, width: 500, height: 500, rotation: 12.5, opacity: 0.85, zIndex: 4,
      shape: "ellipse", fill: "#ffcc00", stroke: null
    },
    {
      type: "text", id: "badge-text", x: 2350, y: 2900, width: 400, height: 120, rotation: 12.5, opacity: 1, zIndex: 5,
      content: "NEW", fontFamily: "Bebas Neue", fontSize: 96, color: "#000000", align: "center"
    },
    {
      type: "shape", id: "underline", x: 600, y: 560, width: 1800, height: 8, rotation: 0, opacity: 1, zIndex: 6,
      shape: "line", fill: null, stroke: "#1a2b3c"
    }
  ]
})

export const createBody = (seed: number) =>
  JSON.stringify({ name: `Bench design ${seed}`, productType: "t-shirt", document: designDocument(seed) })

/** A save from the editor: a new name and the whole document. */
export const patchBody = (seed: number) => JSON.stringify({ name: `Bench design ${seed} (edited)`, document: designDocument(seed) })

export const BENCH_PASSWORD = "bench-password-1234"
