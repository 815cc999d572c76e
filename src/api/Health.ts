import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"

export const DependencyState = Schema.Literals(["connected", "embedded", "unreachable"]).annotate({
  description: "embedded: the built-in stand-in (PGlite, process memory) used when nothing is configured"
})

const healthFields = {
  database: DependencyState.annotate({ description: "PostgreSQL: critical, its loss makes the API unhealthy" }),
  redis: DependencyState.annotate({ description: "Redis: important, its loss degrades the API" })
}

export const Healthy = Schema.Struct({
  status: Schema.Literals(["healthy", "degraded"]),
  ...healthFields
}).annotate({ identifier: "Health" })

/** A health report with status 503: load balancers read the status, people read the body. */
export const Unhealthy = Schema.Struct({
  status: Schema.Literal("unhealthy"),
  ...healthFields
}).pipe(HttpApiSchema.status(503)).annotate({ identifier: "Unhealthy" })

export class HealthApi extends HttpApiGroup.make("health", { topLevel: true })
  .add(
    HttpApiEndpoint.get("health", "/health", { success: [Healthy, Unhealthy] })
      .annotateMerge(OpenApi.annotations({
        summary: "Liveness and dependency status",
        description: "200 healthy or degraded (Redis unreachable); 503 when PostgreSQL is unreachable.",
        // The generator lets the 503 problems every endpoint declares replace this success 503:
        // put the health report back beside them.
        transform: (operation) => {
          const unhealthy = (operation["responses"] as Record<string, { content?: Record<string, unknown> }>)["503"]
          if (unhealthy !== undefined) {
            unhealthy.content = { "application/json": { schema: { $ref: "#/components/schemas/Unhealthy" } }, ...unhealthy.content }
          }
          return operation
        }
      }))
  )
  .annotateMerge(OpenApi.annotations({
    title: "Health",
    description: "For load balancers and monitoring: public, never rate limited"
  }))
{}
