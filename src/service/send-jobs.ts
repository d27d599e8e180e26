import type { ResultAsync } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import type { SendJob } from "../core/types.js";
import type { Logger } from "../ports/logger.js";
import type { EnqueuedJob, JobQueue } from "../ports/queue.js";
import { adapterCall } from "./guarded-ports.js";

/**
 * One waiting send job per broadcast, mode and urgency is enough: every job re-reads what it
 * needs, so a second waiting job would only run the same loop again. Urgency is part of the key so
 * that a start or resume is never folded into a continuation waiting minutes for a retry.
 */
export const sendJobKey = (job: SendJob, delayed: boolean): string =>
  `send:${job.broadcastId}${job.onlyFailed ? ":only-failed" : ""}${delayed ? ":later" : ":now"}`;

export function enqueueSend(
  deps: { readonly queue: JobQueue; readonly logger: Logger },
  job: SendJob,
  delayMs = 0,
): ResultAsync<EnqueuedJob, BroadcastError> {
  const options =
    delayMs > 0 ? { delayMs, dedupeKey: sendJobKey(job, true) } : { dedupeKey: sendJobKey(job, false) };
  return adapterCall(deps.logger, "enqueue", () => deps.queue.enqueue(job, options)).map((queued) => {
    deps.logger.debug({ broadcastId: job.broadcastId, jobId: queued.jobId, delayMs }, "send job queued");
    return queued;
  });
}
