import { HealthHandlers } from "./Http.ts"

/** `GET /health` probes the capabilities directly: no services of its own. */
export const handlers = HealthHandlers
