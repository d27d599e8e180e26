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
  RecipientStatus,
  SendJob,
} from "../core/types.js";
import type { ListWebhookDeliveriesInput, WebhookDelivery } from "../core/webhooks.js";
import type { Clock } from "../ports/clock.js";
import type { EventSink } from "../ports/events.js";
import type { Logger } from "../ports/logger.js";
import type { JobContext, JobQueue } from "../ports/queue.js";
import type { MessageSender } from "../ports/sender.js";
import type { BroadcastStore } from "../ports/store.js";
import type { Telemetry } from "../ports/telemetry.js";
import type { StatusSignals } from "./status-signals.js";

export interface BroadcastServiceOptions {
  readonly store: BroadcastStore;
  readonly queue: JobQueue;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly events?: EventSink;
  /** Shared with this process's workers, so a cancel or pause stops their sends at once. */
  readonly signals?: StatusSignals;
  /** Metrics and traces (`broadcastkit/otel`, or your own); nothing by default. */
  readonly telemetry?: Telemetry;
  /**
   * How long `cancel` and `pause` wait for sends already in flight to settle and be recorded, so
   * the counts they answer are final. A worker that died holding a lease keeps it until it expires:
   * the wait gives up after this long. Default 10 s (the Telegram sender's timeout).
   */
  readonly settleTimeoutMs?: number;
}

export interface CreateBroadcastInput {
  readonly message: BroadcastMessage;
  /**
   * An array, or an (async) iterable for lists too large to hold in memory. Recipient ids are
   * unique (1 and "1" are one id), and so are chats (`@names` in any case are one chat): a chat
   * given twice would get the message twice, so the later one is refused, naming the first.
   */
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
  /** `cancelled`: those a cancel left unsent (stored as pending). */
  readonly status?: RecipientStatus;
  readonly limit?: number;
  readonly cursor?: string;
}

/** How a start, resume or retry is sent. */
export interface StartOptions {
  /**
   * Send jobs sharing the broadcast (default 1). With a queue that spreads jobs over processes
   * (BullMQ), that many processes can send one large broadcast at once, each with its own
   * `concurrency`, through the store's leases; the bot's limit is shared through the Telegram
   * sender's Redis limiter. At most 64.
   */
  readonly parallelism?: number;
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
  /**
   * The webhook delivery log (see `docs/webhooks.md`), newest first: every event on its way to
   * every endpoint, with its attempts, last error and state; filtered by broadcast (`not_found`
   * when there is none), endpoint id or state.
   */
  listWebhookDeliveries(
    query?: ListWebhookDeliveriesInput,
  ): ResultAsync<Page<WebhookDelivery>, BroadcastError>;
  /** `parallelism`: how many send jobs share the broadcast (each may run in another process); default 1. */
  start(id: number, options?: StartOptions): ResultAsync<Broadcast, BroadcastError>;
  schedule(id: number, at: Date | string): ResultAsync<Broadcast, BroadcastError>;
  unschedule(id: number): ResultAsync<Broadcast, BroadcastError>;
  pause(id: number): ResultAsync<Broadcast, BroadcastError>;
  resume(id: number, options?: StartOptions): ResultAsync<Broadcast, BroadcastError>;
  cancel(id: number): ResultAsync<CancelResult, BroadcastError>;
  retryFailed(
    id: number,
    options?: { includePermanent?: boolean } & StartOptions,
  ): ResultAsync<RetryResult, BroadcastError>;
  getProgress(id: number): ResultAsync<Progress, BroadcastError>;
  updateProgress(
    id: number,
    counters: { sentCount: number; failedCount: number },
  ): ResultAsync<Broadcast, BroadcastError>;
  processScheduled(now?: Date): ResultAsync<ProcessScheduledResult, BroadcastError>;
  /**
   * Re-queues every `sending` broadcast whose job was lost (a restart, a dropped queue): nobody
   * holds a live lease on it, and it has recipients to claim now (or none pending, so it only needs
   * settling). Each is queued once (dedupe key); the scheduler runs this on every tick.
   */
  recoverStalled(now?: Date): ResultAsync<RecoverStalledResult, BroadcastError>;
  /**
   * Progress once no send of the broadcast is in flight any more (no live lease on its
   * recipients), waiting at most `settleTimeoutMs`: the numbers to show as final after a cancel or
   * pause. A progress stream uses it for its last event.
   */
  settledProgress(id: number): ResultAsync<Progress, BroadcastError>;
}

export interface RecoverStalledResult {
  /** `sending` broadcasts looked at. */
  readonly checked: number;
  /** Of those, queued again because nobody was working on them. */
  readonly queued: number;
  /** Queued again but the queue refused; they are looked at again next time. */
  readonly failed: number;
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
  /**
   * Sends in flight at once (the sender's pacer still decides when each may leave). To reach a
   * rate R per second over a round trip of T seconds, about R × T must be in flight: the default 16
   * reaches Telegram's free 30/s up to a ~500 ms round trip; a paid broadcast at 1,000/s over
   * 100 ms needs ~100-150. Default 16.
   */
  readonly concurrency?: number;
  /**
   * Recipients claimed together, and the number of settled outcomes that triggers a store write.
   * Default 1,000 (a write's cost barely depends on its size). A crash re-sends at most the sends
   * in flight plus the outcomes not yet written (written every `flushIntervalMs` or `batchSize`,
   * whichever comes first); with `"at-most-once"` it fails the crashed worker's claimed but
   * unstarted recipients as well, up to about 1.5 × `batchSize`.
   */
  readonly batchSize?: number;
  /**
   * Settled outcomes are written at least this often, so progress is never more than about this
   * far behind the sends. Default 1,000 ms.
   */
  readonly flushIntervalMs?: number;
  /**
   * How long a claim holds its recipients; renewed every third of it while the worker works on
   * them, so a crashed worker's recipients come back after at most this long. Default 30 s.
   */
  readonly leaseMs?: number;
  /**
   * How often a running job reads its broadcast's status, to stop promptly when another process
   * cancelled or paused it (an O(1) read). Changes made in this process arrive at once through
   * `signals`. Default 250 ms.
   */
  readonly statusPollMs?: number;
  /** Shared with this process's service, so its cancels and pauses stop sends at once. */
  readonly signals?: StatusSignals;
  /** Metrics and traces (`broadcastkit/otel`, or your own); nothing by default. */
  readonly telemetry?: Telemetry;
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
  | "not_found"
  /** The worker was closed: unstarted recipients were released and the job queued again. */
  | "closed";

export interface WorkerRunSummary {
  readonly broadcastId: number;
  readonly stoppedBecause: WorkerStopReason;
  /** The status the run last saw or stored; `null` when the broadcast does not exist. */
  readonly status: BroadcastStatus | null;
  /** Store writes of settled outcomes. */
  readonly batches: number;
  readonly delivered: number;
  readonly failed: number;
  /** Left pending for a later attempt. */
  readonly retrying: number;
  /** Left pending untouched (the content was refused, or the run stopped before sending them). */
  readonly released: number;
  /** The continuation job queued when the run stopped `waiting`. */
  readonly continuation: { readonly jobId: string; readonly runAt: Date } | null;
}

export interface SendWorker {
  /**
   * Runs one send job until nobody is claimable; safe to run again, and concurrently. `context`
   * is what the queue knows of the job: its id goes on every log line and span of the run.
   */
  handle(job: SendJob, context?: JobContext): ResultAsync<WorkerRunSummary, BroadcastError>;
  /**
   * Stops every running job gracefully: no new send starts, sends in flight settle and are
   * recorded, unstarted recipients are released at once (another worker may take them), and each
   * job is queued again. Resolves when all have stopped; later jobs end at once as `closed`.
   */
  close(): Promise<void>;
}
