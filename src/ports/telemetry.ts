import type { BroadcastStatus, FailureKind } from "../core/types.js";

/**
 * # The telemetry port: what a host's metrics and tracing stack sees
 *
 * Optional. The service, the send worker and the Telegram sender call it at the moments below;
 * `broadcastkit/otel` implements it on OpenTelemetry (`@opentelemetry/api`), and a host may
 * implement it for anything else.
 *
 * ## Promises
 * - Every call is made after the fact it reports (a send answered, a write stored), never for
 *   something that did not happen; a span is ended exactly once.
 * - Nothing passed carries a secret or a message text. Failure reasons are the stored error texts
 *   (normalised, at most 1,000 characters); implementations should bucket them before using them
 *   as metric attributes (they vary: "retry after 5", "retry after 7").
 *
 * ## What it may do
 * - Throw: the library catches and ignores it; telemetry never fails a send.
 */
export interface Telemetry {
  /** A send job's run begins; the span ends when the run does. */
  jobRun(run: JobRunInfo): TelemetrySpan;
  /** One write of settled outcomes begins, inside the job run's span. */
  flush(parent: TelemetrySpan, flush: FlushInfo): TelemetrySpan;
  /** One recipient's send was answered (or the worker gave up on it). */
  sendSettled(send: SendSettledInfo): void;
  /** Sends handed to the sender and not answered yet changed by `delta` (+1 or -1). */
  inFlight(delta: number): void;
  /** The platform asked the sender to wait (Telegram 429 `retry_after`). */
  throttled(waitMs: number): void;
  /** A job started running this long after it was due (how far behind the queue is). */
  queueLag(lagMs: number): void;
  /** A broadcast's status change was stored. */
  statusChanged(change: StatusChangeInfo): void;
}

export interface TelemetrySpan {
  /** Adds facts learned while the span runs. */
  setAttributes(attributes: Readonly<Record<string, string | number | boolean>>): void;
  /** Ends it; `error` marks it failed, with a short reason (never a cause's message). */
  end(error?: string): void;
}

export interface JobRunInfo {
  readonly broadcastId: number;
  /** The queue's id of the job, when the queue told it (the seed's `task_id`). */
  readonly jobId: string | null;
  readonly part: number;
  readonly onlyFailed: boolean;
}

export interface FlushInfo {
  readonly broadcastId: number;
  readonly epoch: number;
  readonly outcomes: number;
}

export interface SendSettledInfo {
  readonly broadcastId: number;
  /** `released`: not sent (the run stopped, or the message was refused and the broadcast paused). */
  readonly outcome: "delivered" | "failed" | "retry" | "released";
  readonly kind: FailureKind | null;
  /** The failure's text for `failed` and `retry`; `null` otherwise. */
  readonly reason: string | null;
  /** From handing the message to the sender to its answer: pacing waits included. */
  readonly durationMs: number;
}

export interface StatusChangeInfo {
  readonly broadcastId: number;
  readonly from: BroadcastStatus;
  readonly to: BroadcastStatus;
}
