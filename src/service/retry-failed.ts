import { err, ok, type ResultAsync, safeTry } from "neverthrow";
import { type BroadcastError, invalidTransition, notFound } from "../core/errors.js";
import { ALLOWED_FROM, type BroadcastPatch, RETRY_ACCEPTED_FROM, transition } from "../core/transitions.js";
import type { Broadcast, BroadcastStatus } from "../core/types.js";
import { loadBroadcast } from "./broadcast-reads.js";
import { adapterCall } from "./guarded-ports.js";
import { enqueueParts, sendJobParts } from "./send-jobs.js";
import type { ServiceDeps } from "./service-deps.js";
import { runTransition } from "./transition-runner.js";
import type { RetryResult } from "./types.js";

/**
 * The retry transition's patch. Whether it may apply is decided by the store, atomically with
 * counting the failed recipients, so the patch is taken as if from an allowed status.
 */
function retryPatch(broadcast: Broadcast, at: Date): BroadcastPatch {
  const [allowed = "completed"] = ALLOWED_FROM.retry;
  const from = ALLOWED_FROM.retry.includes(broadcast.status) ? broadcast : { ...broadcast, status: allowed };
  return transition(from, { type: "retry" }, at).match(
    (decided) => decided.patch,
    () => ({ status: "sending", completedAt: null }),
  );
}

/**
 * The recipients are pending again but no job will send them: pause the broadcast, so an admin's
 * resume queues the job. Putting it back to `completed`/`failed` would hide pending recipients
 * behind a final-looking status that no retry could reach any more.
 */
async function parkWithoutJob(deps: ServiceDeps, reset: Broadcast): Promise<void> {
  const parked = await runTransition(
    deps,
    reset.id,
    { type: "pause", reason: { type: "manual" } },
    { onlyFrom: reset },
  );
  parked.match(
    ({ broadcast }) => {
      deps.logger.warn({ broadcastId: reset.id }, "retry could not be queued; broadcast paused for a resume");
      if (broadcast.pauseReason !== null) {
        deps.emit({
          type: "broadcast.paused",
          broadcastId: reset.id,
          at: deps.clock.now(),
          reason: broadcast.pauseReason,
        });
      }
    },
    (failure) =>
      deps.logger.error(
        { broadcastId: reset.id, failure: failure.type },
        "retry could not be queued nor parked",
      ),
  );
}

/**
 * The seed's `retry_failed`: failed recipients back to pending, the broadcast back to sending, one
 * job. Accepted from `RETRY_ACCEPTED_FROM` only, for every variant, whether or not anything failed.
 */
export function retryFailed(
  deps: ServiceDeps,
  id: number,
  includePermanent: boolean,
  parallelism = 1,
): ResultAsync<RetryResult, BroadcastError> {
  const refused = (status: BroadcastStatus) =>
    RETRY_ACCEPTED_FROM.includes(status) ? null : invalidTransition(id, status, "sending");
  return safeTry(async function* () {
    const before = yield* loadBroadcast(deps, id);
    const early = refused(before.status);
    if (early !== null) return err(early);
    const at = deps.clock.now();
    const reset = yield* adapterCall(deps.logger, "resetFailedRecipients", () =>
      deps.store.resetFailedRecipients({
        broadcastId: id,
        includePermanent,
        allowedFrom: ALLOWED_FROM.retry,
        patch: retryPatch(before, at),
        at,
      }),
    );
    if (reset.type === "not_found") return err(notFound(id));
    if (reset.type === "status_changed") return err(invalidTransition(id, reset.actual, "sending"));
    const { retriedCount, skippedCount } = reset;
    // Nothing was reset, so the store did not check the status; it read it in the same step as
    // the count, and a status changed since `before` (another retry won) is answered here.
    const late = retriedCount === 0 ? refused(reset.broadcast.status) : null;
    if (late !== null) return err(late);
    if (retriedCount === 0) {
      deps.logger.info({ broadcastId: id, skippedCount }, "nothing to retry");
      return ok({ broadcastId: id, retriedCount, skippedCount, taskId: null });
    }
    deps.signals?.statusChanged(id, reset.broadcast.status);
    deps.telemetry.statusChanged({ broadcastId: id, from: before.status, to: reset.broadcast.status });
    const queued = await enqueueParts(deps, sendJobParts(id, true, parallelism));
    if (queued.isErr()) {
      await parkWithoutJob(deps, reset.broadcast);
      return err(queued.error);
    }
    deps.logger.info(
      { broadcastId: id, retriedCount, skippedCount, taskId: queued.value.jobId },
      "retry queued",
    );
    deps.emit({ type: "broadcast.started", broadcastId: id, at });
    return ok({ broadcastId: id, retriedCount, skippedCount, taskId: queued.value.jobId });
  });
}
