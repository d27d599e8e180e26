import type { ResultAsync } from "neverthrow";
import type { SendJob } from "../core/types.js";

/**
 * # The queue port: where send jobs wait to run
 *
 * The service enqueues a send job when a broadcast starts, resumes or is retried; the send worker
 * enqueues its own continuation when recipients wait for a later attempt. The queue delivers each
 * job to a consumer that calls the send worker's `handle(job)`.
 *
 * ## Promises
 * - `enqueue` resolves once the job is durably queued (as durable as the adapter is), and returns
 *   an id the host can use to look the job up (the seed's `task_id`).
 * - A job runs no earlier than `delayMs` after it was enqueued, measured on the adapter's clock.
 * - While a job with a `dedupeKey` is waiting, enqueuing another with the same key adds nothing and
 *   returns the waiting job's id.
 * - A job whose run fails (the handler rejects or returns an `Err`) runs again later, with backoff,
 *   a bounded number of times (the seed's "max 3 retries"). Jobs are safe to run again: the worker
 *   re-reads everything it needs from the store.
 *
 * ## What it does not promise
 * - Exactly-once runs: a job may run twice (a crash after the run, a redelivery). The store's
 *   leases make that harmless.
 * - Ordering between jobs.
 * - Rejection means the job was not queued; the service reports it as a `storage` error.
 */
export interface JobQueue {
  enqueue(job: SendJob, options?: EnqueueOptions): Promise<EnqueuedJob>;
}

export interface EnqueueOptions {
  /** Run no earlier than this many milliseconds from now. */
  readonly delayMs?: number;
  /** At most one waiting job per key. */
  readonly dedupeKey?: string;
}

export interface EnqueuedJob {
  readonly jobId: string;
}

/**
 * What a queue adapter's consumer calls for each job, with what the queue knows of it. A
 * rejection or an `Err` result (anything with `isErr() === true`) marks the run as failed.
 */
export type JobHandler = (
  job: SendJob,
  context?: JobContext,
) => PromiseLike<unknown> | ResultAsync<unknown, unknown>;

/** What a queue tells its consumer about a job, for logs and telemetry. */
export interface JobContext {
  /** The id `enqueue` answered (the seed's `task_id`). */
  readonly jobId: string;
  /** When the job was due to run (queued plus its delay); how late it starts is the queue's lag. */
  readonly dueAt?: Date;
}
