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
  `send:${job.broadcastId}${job.onlyFailed ? ":only-failed" : ""}${(job.part ?? 0) > 0 ? `:part-${job.part}` : ""}${delayed ? ":later" : ":now"}`;

/** The jobs of one broadcast started with `parallelism`: parts 0 … parallelism − 1. */
export const sendJobParts = (broadcastId: number, onlyFailed: boolean, parallelism = 1): SendJob[] =>
  Array.from({ length: parallelism }, (_, part) =>
    part === 0 ? { broadcastId, onlyFailed } : { broadcastId, onlyFailed, part },
  );

/** Queues every part; answers the first part's job (the seed's `task_id`), or the first failure. */
export function enqueueParts(
  deps: { readonly queue: JobQueue; readonly logger: Logger },
  jobs: readonly SendJob[],
): ResultAsync<EnqueuedJob, BroadcastError> {
  const [first, ...rest] = jobs;
  if (first === undefined) throw new RangeError("enqueueParts: no job");
  return rest.reduce(
    (queued, job) => queued.andThen((answer) => enqueueSend(deps, job).map(() => answer)),
    enqueueSend(deps, first),
  );
}

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
