import type { ResultAsync } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import type { Progress } from "../core/progress.js";
import type { RandomSource, RetryPolicy } from "../core/retry-policy.js";
import type {
  Broadcast,
  BroadcastMessage,
  BroadcastStatus,
  NewRecipient,
  Page,
  Recipient,
  RecipientState,
  SendJob,
} from "../core/types.js";
import type { Clock } from "../ports/clock.js";
import type { EventSink } from "../ports/events.js";
import type { Logger } from "../ports/logger.js";
import type { JobQueue } from "../ports/queue.js";
import type { MessageSender } from "../ports/sender.js";
import type { BroadcastStore } from "../ports/store.js";

export interface BroadcastServiceOptions {
  readonly store: BroadcastStore;
  readonly queue: JobQueue;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly events?: EventSink;
}

export interface CreateBroadcastInput {
  readonly message: BroadcastMessage;
  /** An array, or an (async) iterable for lists too large to hold in memory. */
  readonly recipients: Iterable<NewRecipient> | AsyncIterable<NewRecipient>;
  /** Given: the broadcast is created `scheduled`; it must be in the future. */
  readonly scheduledAt?: Date | string;
  readonly createdBy?: string | number;
  /** Pause automatically once this many recipients have failed. Off by default. */
  readonly errorThreshold?: number;
}

export interface ListQuery {
  readonly status?: BroadcastStatus;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface ListRecipientsQueryInput {
  readonly status?: RecipientState;
  readonly limit?: number;
  readonly cursor?: string;
}

export interface CancelResult {
  readonly broadcastId: number;
  readonly cancelledAt: Date;
}

export interface RetryResult {
  readonly broadcastId: number;
  readonly retriedCount: number;
  readonly skippedCount: number;
  /** The queued send job's id; `null` when nothing was retried. */
  readonly taskId: string | null;
}

export interface ProcessScheduledResult {
  readonly found: number;
  readonly queued: number;
  readonly failed: number;
}

/** The application API. Every method returns a `ResultAsync`; none throws for an expected failure. */
export interface BroadcastService {
  create(input: CreateBroadcastInput): ResultAsync<Broadcast, BroadcastError>;
  /**
   * Adds recipients to a `draft`, all or nothing, validated as `create` validates them (a
   * placeholder without a default must be supplied by someone in this call). An id already in the
   * broadcast, or twice in the call, is a `validation` error naming it; a broadcast that is no
   * longer a draft is `invalid_transition` (from its status to `draft`). Builds broadcasts too
   * large for one request: create the draft with the first chunk, add the others, then start it.
   */
  addRecipients(
    id: number,
    recipients: Iterable<NewRecipient> | AsyncIterable<NewRecipient>,
  ): ResultAsync<Broadcast, BroadcastError>;
  get(id: number): ResultAsync<Broadcast, BroadcastError>;
  list(query?: ListQuery): ResultAsync<Page<Broadcast>, BroadcastError>;
  listRecipients(id: number, query?: ListRecipientsQueryInput): ResultAsync<Page<Recipient>, BroadcastError>;
  start(id: number): ResultAsync<Broadcast, BroadcastError>;
  schedule(id: number, at: Date | string): ResultAsync<Broadcast, BroadcastError>;
  unschedule(id: number): ResultAsync<Broadcast, BroadcastError>;
  pause(id: number): ResultAsync<Broadcast, BroadcastError>;
  resume(id: number): ResultAsync<Broadcast, BroadcastError>;
  cancel(id: number): ResultAsync<CancelResult, BroadcastError>;
  retryFailed(id: number, options?: { includePermanent?: boolean }): ResultAsync<RetryResult, BroadcastError>;
  getProgress(id: number): ResultAsync<Progress, BroadcastError>;
  updateProgress(
    id: number,
    counters: { sentCount: number; failedCount: number },
  ): ResultAsync<Broadcast, BroadcastError>;
  processScheduled(now?: Date): ResultAsync<ProcessScheduledResult, BroadcastError>;
}

/** What happens to a recipient whose earlier claim expired without an outcome (its delivery is unknown). */
export type DeliveryGuarantee = "at-least-once" | "at-most-once";

export interface SendWorkerOptions {
  readonly store: BroadcastStore;
  readonly queue: JobQueue;
  readonly sender: MessageSender;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly events?: EventSink;
  /** Recipients claimed, sent and recorded together. Default 100. */
  readonly batchSize?: number;
  /** How long a claim holds its recipients; a crashed worker's recipients come back after it. Default 5 min. */
  readonly leaseMs?: number;
  /** Automatic retries of transient failures; the default is the seed's 60 s, 120 s, 240 s. */
  readonly retry?: Partial<RetryPolicy>;
  /** Default `at-least-once`: a recipient whose outcome was lost in a crash is sent again. */
  readonly guarantee?: DeliveryGuarantee;
  /** Error-log entries kept on each broadcast, newest last. Default 1,000. */
  readonly errorLogLimit?: number;
  /** Draws the retry jitter; only used when the retry policy has jitter. */
  readonly random?: RandomSource;
  /** Names this worker's leases in the store, for diagnostics. */
  readonly workerId?: string;
}

/** Why a run of a send job ended. */
export type WorkerStopReason =
  /** Nobody is pending any more: the broadcast settled on sent, completed or failed. */
  | "finished"
  /** The broadcast is no longer `sending` (cancelled, paused, finished by another worker). */
  | "not_sending"
  /** Everyone left waits for a later attempt or another worker's lease: a continuation job is queued. */
  | "waiting"
  /** The message itself was refused: the broadcast is paused with the recipient still pending. */
  | "content_refused"
  /** Failures crossed the broadcast's error threshold: the broadcast is paused. */
  | "error_threshold"
  /** There is no such broadcast (any more). */
  | "not_found";

export interface WorkerRunSummary {
  readonly broadcastId: number;
  readonly stoppedBecause: WorkerStopReason;
  /** The status the run last saw or stored; `null` when the broadcast does not exist. */
  readonly status: BroadcastStatus | null;
  readonly batches: number;
  readonly delivered: number;
  readonly failed: number;
  /** Left pending for a later attempt. */
  readonly retrying: number;
  /** Left pending untouched (the content was refused). */
  readonly released: number;
  /** The continuation job queued when the run stopped `waiting`. */
  readonly continuation: { readonly jobId: string; readonly runAt: Date } | null;
}

export interface SendWorker {
  /** Runs one send job until nobody is claimable; safe to run again, and concurrently. */
  handle(job: SendJob): ResultAsync<WorkerRunSummary, BroadcastError>;
}
