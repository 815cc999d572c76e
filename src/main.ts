import { Layer } from "effect"
import * as Capabilities from "./Capabilities.ts"
import { launch } from "./EntryPoint.ts"
import * as Server from "./http/Server.ts"

/** The API server: capabilities chosen from the environment, then the HTTP server on top. */
launch(
  Capabilities.announceListening.pipe(
    Layer.provideMerge(Server.layer),
    Layer.provide(Capabilities.layer)
  )
)
