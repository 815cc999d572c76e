import { describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { expect } from "vitest"
import * as Housekeeping from "../../src/features/jobs/Housekeeping.ts"

describe("housekeeping", () => {
  it.effect("runs every task once at start and hourly after; a failing task is logged and does not stop the others", () =>
    Effect.gen(function*() {
      const runs = yield* Ref.make<ReadonlyArray<string>>([])
      const record = (name: string) => Ref.update(runs, (all) => [...all, name])
      yield* Layer.build(Housekeeping.layer([
        { name: "fails", run: Effect.andThen(record("fails"), Effect.fail("database gone")) },
        { name: "dies", run: Effect.andThen(record("dies"), Effect.die("bug")) },
        { name: "prunes", run: record("prunes") }
      ]))
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Ref.get(runs)).toEqual(["fails", "dies", "prunes"])
      yield* TestClock.adjust(Duration.minutes(59))
      expect(yield* Ref.get(runs)).toHaveLength(3)
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* Ref.get(runs)).toEqual(["fails", "dies", "prunes", "fails", "dies", "prunes"])
      yield* TestClock.adjust(Housekeeping.HOUSEKEEPING_INTERVAL)
      expect(yield* Ref.get(runs)).toHaveLength(9)
    }))
})
