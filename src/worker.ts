import { Layer } from "effect"
import * as Capabilities from "./app/Capabilities.ts"
import { launch } from "./app/EntryPoint.ts"
import * as Features from "./app/Features.ts"

/**
 * The background worker: the same capabilities as the server, chosen from the same
 * configuration, consuming jobs with the same use cases instead of serving HTTP.
 */
launch(Features.worker.pipe(Layer.provide(Capabilities.layer)))
