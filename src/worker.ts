import { Layer } from "effect"
import * as Capabilities from "./Capabilities.ts"
import { launch } from "./EntryPoint.ts"
import * as Worker from "./features/jobs/Worker.ts"

/**
 * The background worker: the same capabilities as the server, chosen from the same
 * configuration, consuming jobs with the same use cases instead of serving HTTP.
 */
launch(Worker.layer.pipe(Layer.provide(Capabilities.layer)))
