import { Clock, Data, Effect, Option } from "effect"
import { Mailer } from "../../capabilities/mail/Mailer.ts"
import { type JobMeta, JobQueue } from "../../capabilities/queue/JobQueue.ts"
import { AppConfig } from "../../config/AppConfig.ts"
import type { CoreJob } from "../../domain/Jobs.ts"
import { forgetUser, indexDesign } from "../ai/Ai.ts"
import { deleteUserObjects } from "../assets/Assets.ts"
import * as AccountsRepository from "../accounts/AccountsRepository.ts"

class AccountStillExists extends Data.TaggedError("AccountStillExists")<{ readonly userId: string }> {}

/**
 * Runs one job with the very use cases the API uses. Each handler is idempotent, since a job
 * may be delivered more than once: a reset email past its expiry is skipped, deleting an empty
 * prefix deletes nothing, indexing writes the same vector again. The clean-up of an account that
 * still exists fails (and is retried) instead of removing anything.
 */
export const handleJob = Effect.fn("handleJob")(function*(job: CoreJob, meta: JobMeta) {
  yield* Effect.annotateCurrentSpan({ "job.type": job._tag, "job.id": meta.id, "job.attempts": meta.attempts })
  switch (job._tag) {
    case "email.password_reset": {
      if (Date.parse(job.expiresAt) <= (yield* Clock.currentTimeMillis)) {
        return yield* Effect.logInfo("jobs: password reset email expired before sending, skipped")
      }
      const link = `${(yield* AppConfig).passwordResetUrl}?token=${encodeURIComponent(job.token)}`
      return yield* (yield* Mailer).send({
        to: job.email,
        subject: "Reset your Customify password",
        text: `To choose a new password, open this link (it works once, until ${job.expiresAt}):\n\n${link}\n\n` +
          "If you did not ask for this, ignore this mail: your password stays as it is.\n"
      })
    }
    case "account.cleanup": {
      // Only ever for a deleted account. An SQS message can arrive before its deletion commits:
      // failing (not skipping) retries it with backoff; if the deletion never commits, the job
      // is dead-lettered and nothing is removed.
      if (Option.isSome(yield* (yield* AccountsRepository.AccountsRepository).findById(job.userId))) {
        return yield* new AccountStillExists({ userId: job.userId })
      }
      const deleted = yield* deleteUserObjects(job.userId)
      yield* forgetUser(job.userId)
      return yield* Effect.logInfo(`jobs: account cleanup removed ${deleted} stored objects`)
    }
    case "design.index": {
      const outcome = yield* indexDesign(job.designId, job.ownerId)
      return yield* Effect.logDebug(`jobs: design ${outcome}`)
    }
  }
})

/** Consumes this service's jobs until interrupted. */
export const run = Effect.flatMap(Effect.service(JobQueue), (queue) =>
  Effect.andThen(Effect.logInfo("worker: consuming jobs"), queue.consume(handleJob)))
