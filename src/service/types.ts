import type { ResultAsync } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import type { Progress } from "../core/progress.js";
import type {
  Broadcast,
  BroadcastMessage,
  BroadcastStatus,
  NewRecipient,
  Page,
  Recipient,
  RecipientState,
} from "../core/types.js";
import type { Clock } from "../ports/clock.js";
import type { EventSink } from "../ports/events.js";
import type { Logger } from "../ports/logger.js";
import type { JobQueue } from "../ports/queue.js";
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
