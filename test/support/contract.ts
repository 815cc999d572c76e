import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js"
import addFormatsModule from "ajv-formats"
import { OpenApi } from "effect/http-api"
import { afterEach } from "vitest"
import { CoreApi } from "../../src/api/Api.ts"
import * as RouteTable from "../../src/http/RouteTable.ts"

/**
 * The contract check of the HTTP suites: every response a test receives through the typed
 * client (./typedClient.ts) or the raw client (./http.ts) is validated against the OpenAPI
 * document the server serves. Its status must be declared for the operation (or be one of the
 * router's shared responses), its body must match the schema of that status and media type,
 * and the headers declared for it must be present (when required) and valid. A drift throws
 * where it is met and, in case a caller swallowed the throw, fails the test in `afterEach`.
 *
 *   assertConforms({ method, path, status, headers, text })   // one line in each client
 */

export interface ContractExchange {
  readonly method: string
  /** Path and query, or the whole URL. */
  readonly path: string
  readonly status: number
  readonly headers: Headers
  readonly text: string
}

/** What is served beside the documented API, on purpose: pages, the document itself, uploads, metrics. */
const OUTSIDE_DOCUMENT: ReadonlyArray<RegExp> = [
  /^\/docs(\/|$)/u,
  /^\/redoc(\/|$)/u,
  /^\/openapi\.json$/u,
  /^\/metrics$/u,
  /^\/uploads\//u
]

/** CORS preflights are answered by the pipeline for any path, outside the document (ADR 0017). */
const UNDOCUMENTED_METHODS = new Set(["OPTIONS"])

/** Statuses whose responses have no body, whatever an operation declares (RFC 9110). */
const NO_BODY = new Set([204, 304])

type Json = Record<string, any>

const DOCUMENT_ID = "https://customify.invalid/openapi.json"

class ContractDrift extends Error {
  override readonly name = "ContractDrift"
}

interface Contract {
  readonly document: Json
  readonly ajv: Ajv2020
  /** The router's own matcher, so a request meets the operation the server routed it to. */
  readonly routes: RouteTable.RouteTable
  readonly validators: Map<string, ValidateFunction>
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020

const makeContract = (document: Json, routes: RouteTable.RouteTable): Contract => {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats(ajv)
  ajv.addFormat("binary", true)
  ajv.addSchema({ ...document, $id: DOCUMENT_ID })
  return { document, ajv, routes, validators: new Map() }
}

let core: Contract | undefined
/** The contract of the Core API: the document GET /openapi.json serves. */
const coreContract = () => (core ??= makeContract(OpenApi.fromApi(CoreApi) as unknown as Json, RouteTable.make(CoreApi, [])))

const pointer = (...segments: ReadonlyArray<string>) =>
  segments.map((segment) => segment.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")

const resolve = (contract: Contract, value: Json): { readonly value: Json; readonly at: string | undefined } => {
  const ref = value["$ref"] as string | undefined
  if (ref === undefined) return { value, at: undefined }
  const segments = ref.replace(/^#\//u, "").split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
  let target: any = contract.document
  for (const segment of segments) target = target?.[segment]
  if (target === undefined) throw new ContractDrift(`the document has no ${ref}`)
  return { value: target as Json, at: ref.replace(/^#/u, "") }
}

const validatorAt = (contract: Contract, at: string) => {
  let validate = contract.validators.get(at)
  if (validate === undefined) {
    validate = contract.ajv.compile({ $ref: `${DOCUMENT_ID}#${at}` })
    contract.validators.set(at, validate)
  }
  return validate
}

const describeErrors = (validate: ValidateFunction) =>
  (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`).join("; ")

/** The responses a request may get: its operation's, or the router's when no operation matches. */
const responsesFor = (contract: Contract, method: string, path: string): { readonly responses: Json; readonly at: string } => {
  const shared = (status: string, name: string) => ({ [status]: { $ref: `#/components/responses/${name}` } })
  const anyOperation = () => {
    // What the pipeline answers before routing, as every operation declares it.
    const [template, operations] = Object.entries(contract.document["paths"] as Json).find(([t]) => t.startsWith("/api/"))!
    const [first, operation] = Object.entries(operations as Json)[0]!
    const responses = (operation as Json)["responses"] as Json
    return Object.fromEntries(["413", "414", "429", "503"].filter((s) => responses[s] !== undefined)
      .map((s) => [s, { $ref: `#/paths/${pointer(template, first, "responses", s)}` }]))
  }
  // HEAD is answered by GET routes, without the body.
  const routed = method === "HEAD" ? "GET" : method
  const template = contract.routes.templateOf(routed, path)?.replace(/:(\w+)/gu, "{$1}")
  const operation = template === undefined ? undefined : (contract.document["paths"][template] as Json | undefined)?.[routed.toLowerCase()] as Json | undefined
  if (template !== undefined && operation !== undefined) {
    return { responses: operation["responses"] as Json, at: `/paths/${pointer(template, routed.toLowerCase(), "responses")}` }
  }
  if (contract.routes.allowedMethods(path).length > 0) {
    return { responses: { ...anyOperation(), ...shared("405", "MethodNotAllowed") }, at: `${path} (no ${method})` }
  }
  return { responses: { ...anyOperation(), ...shared("404", "RouteNotFound") }, at: "(no route)" }
}

const checkHeaders = (contract: Contract, response: Json, exchange: ContractExchange, drifts: Array<string>) => {
  for (const [name, declared] of Object.entries((response["headers"] ?? {}) as Json)) {
    const { at, value: header } = resolve(contract, declared as Json)
    const sent = exchange.headers.get(name)
    if (sent === null) {
      if (header["required"] === true) drifts.push(`header ${name} is declared required and missing`)
      continue
    }
    const schema = header["schema"] as Json | undefined
    if (schema === undefined || at === undefined) continue
    const typed = schema["type"] === "integer" && /^-?[0-9]+$/u.test(sent) ? Number(sent) : sent
    const validate = validatorAt(contract, `${at}/schema`)
    if (!validate(typed)) drifts.push(`header ${name}: ${JSON.stringify(sent)} ${describeErrors(validate)}`)
  }
}

/** Every way this response drifts from the document (empty when it conforms); undefined when not checked. */
export const driftsOf = (exchange: ContractExchange, contract: Contract = coreContract()): ReadonlyArray<string> | undefined => {
  const target = /^https?:\/\//u.test(exchange.path) ? new URL(exchange.path).pathname : exchange.path
  const path = target.split("?")[0] ?? target
  if (UNDOCUMENTED_METHODS.has(exchange.method) || OUTSIDE_DOCUMENT.some((pattern) => pattern.test(path))) return undefined
  const found = responsesFor(contract, exchange.method, path)
  const declared = found.responses[String(exchange.status)] as Json | undefined
  if (declared === undefined) {
    return [`status ${exchange.status} is not declared (declared: ${Object.keys(found.responses).join(", ")})`]
  }
  const { at: sharedAt, value: response } = resolve(contract, declared)
  const at = sharedAt ?? `${found.at}/${exchange.status}`
  const drifts: Array<string> = []
  checkHeaders(contract, response, exchange, drifts)
  const content = response["content"] as Json | undefined
  if (exchange.method === "HEAD") return drifts
  if (NO_BODY.has(exchange.status) || content === undefined || Object.keys(content).length === 0) {
    if (exchange.text !== "") drifts.push(`a body where none is declared: ${exchange.text.slice(0, 200)}`)
    return drifts
  }
  const mediaType = (exchange.headers.get("content-type") ?? "").split(";")[0]!.trim()
  if (content[mediaType] === undefined) {
    drifts.push(`media type ${JSON.stringify(mediaType)} is not declared (declared: ${Object.keys(content).join(", ")})`)
    return drifts
  }
  if (content[mediaType]["schema"] === undefined || !mediaType.includes("json")) return drifts
  let body: unknown
  try {
    body = JSON.parse(exchange.text)
  } catch {
    drifts.push(`the body is not JSON: ${exchange.text.slice(0, 200)}`)
    return drifts
  }
  const validate = validatorAt(contract, `${at.startsWith("/") ? at : `/${at}`}/content/${pointer(mediaType)}/schema`)
  if (!validate(body)) drifts.push(`body: ${describeErrors(validate)}; got ${exchange.text.slice(0, 300)}`)
  return drifts
}

/** Drifts met during the current test: thrown where met, and failing the test in any case. */
const met: Array<string> = []

afterEach(() => {
  if (met.length === 0) return
  const drifts = met.splice(0)
  throw new ContractDrift(`responses drifted from the OpenAPI document:\n${drifts.join("\n")}`)
})

/** Throws (and fails the current test) when the response drifts from the Core API's document. */
export const assertConforms = (exchange: ContractExchange): void => {
  const drifts = driftsOf(exchange)
  if (drifts === undefined || drifts.length === 0) return
  const message = `${exchange.method} ${exchange.path} -> ${exchange.status}: ${drifts.join("; ")}`
  met.push(message)
  throw new ContractDrift(message)
}
