import { Array as Arr, Cause, Effect, Option, Schema } from "effect"

/**
 * `SqlSchema`'s finders for rows this service stored: each request is encoded with every check,
 * each row decoded for structure and types (a column that changed type is still a defect) but
 * without re-running the entity's checks. Every value was checked on its way in; a row written
 * around the API (a manual fix, an import) holding a value that today's checks refuse, say an
 * `http:` avatar, is served as it is instead of answering 500 on every request that reads it.
 * (`SqlSchema` takes no parse options, hence these few lines beside it.)
 */
const skipChecks = { disableChecks: true } as const

interface Finder<Req extends Schema.Top, Res extends Schema.Top, E, R> {
  readonly Request: Req
  readonly Result: Res
  readonly execute: (request: Req["Encoded"]) => Effect.Effect<ReadonlyArray<unknown>, E, R>
}

const rows = <Req extends Schema.Top, Res extends Schema.Top, E, R>(options: Finder<Req, Res, E, R>) => {
  const encode = Schema.encodeEffect(options.Request)
  return (request: Req["Type"]) => Effect.flatMap(encode(request), options.execute)
}

export const findAll = <Req extends Schema.Top, Res extends Schema.Top, E, R>(options: Finder<Req, Res, E, R>) => {
  const decode = Schema.decodeUnknownEffect(Schema.Array(options.Result))
  const find = rows(options)
  return (request: Req["Type"]) => Effect.flatMap(find(request), (found) => decode(found, skipChecks))
}

export const findOneOption = <Req extends Schema.Top, Res extends Schema.Top, E, R>(options: Finder<Req, Res, E, R>) => {
  const decode = Schema.decodeUnknownEffect(options.Result)
  const find = rows(options)
  return (request: Req["Type"]) =>
    Effect.flatMap(find(request), (found) =>
      Arr.isReadonlyArrayNonEmpty(found) ? Effect.asSome(decode(found[0], skipChecks)) : Effect.succeed(Option.none()))
}

export const findOne = <Req extends Schema.Top, Res extends Schema.Top, E, R>(options: Finder<Req, Res, E, R>) => {
  const find = findOneOption(options)
  return (request: Req["Type"]) =>
    Effect.flatMap(find(request), Option.match({ onNone: () => Effect.fail(new Cause.NoSuchElementError()), onSome: Effect.succeed }))
}
