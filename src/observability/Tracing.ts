import { Duration, Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"
import { AppConfig } from "../config/AppConfig.ts"

/**
 * Spans (HTTP requests, use cases, SQL, Redis, outbound calls) exported over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Unset, no tracer is installed and spans cost nothing.
 */
export const layer = Layer.unwrap(Effect.gen(function*() {
  const { otlpEndpoint, serviceName } = yield* AppConfig
  return Option.match(otlpEndpoint, {
    onNone: () => Layer.empty,
    onSome: (endpoint) =>
      OtlpTracer.layer({
        url: `${endpoint.replace(/\/+$/, "")}/v1/traces`,
        resource: { serviceName, serviceVersion: "1.0.0" },
        exportInterval: Duration.seconds(2)
      }).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
  })
}))

