import {
  cancelledCount,
  errorSummary,
  type Progress,
  pendingCount,
  processedPct,
  progressPct,
} from "../core/progress.js";
import type { Broadcast, Page, PauseReason, Recipient } from "../core/types.js";
import { type WebhookDelivery, webhookMessageId, webhookPayload } from "../core/webhooks.js";
import type { CancelResult, RetryResult } from "../service/types.js";
import type { MessageCatalog } from "./messages.js";

/** What the wire shows of a timestamp: ISO 8601 in UTC, or `null`. */
const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

export interface ProgressJson {
  readonly id: number;
  readonly status: string;
  readonly total_recipients: number;
  readonly sent_count: number;
  readonly failed_count: number;
  readonly pending_count: number;
  /** Added to the seed's fields: recipients a cancel left unsent (0 unless cancelled). */
  readonly cancelled_count: number;
  readonly progress_pct: number;
  readonly processed_pct: number;
  readonly error_summary: string | null;
  readonly created_at: string;
  readonly scheduled_at: string | null;
  readonly sent_at: string | null;
  readonly completed_at: string | null;
}

/** The seed's progress response, field for field. */
export function progressJson(p: Progress): ProgressJson {
  return {
    id: p.id,
    status: p.status,
    total_recipients: p.totalRecipients,
    sent_count: p.sentCount,
    failed_count: p.failedCount,
    pending_count: p.pendingCount,
    cancelled_count: p.cancelledCount,
    progress_pct: p.progressPct,
    processed_pct: p.processedPct,
    error_summary: p.errorSummary,
    created_at: p.createdAt.toISOString(),
    scheduled_at: iso(p.scheduledAt),
    sent_at: iso(p.sentAt),
    completed_at: iso(p.completedAt),
  };
}

function pauseReasonJson(reason: PauseReason | null): Record<string, unknown> | null {
  if (reason === null) return null;
  switch (reason.type) {
    case "manual":
      return { type: "manual" };
    case "content_refused":
      return { type: "content_refused", description: reason.description };
    case "error_threshold":
      return { type: "error_threshold", failed_count: reason.failedCount, threshold: reason.threshold };
  }
}

/**
 * A broadcast with its counters and progress figures. The list leaves out the per-error counters
 * and the error log (up to a thousand entries each): one broadcast's page shows them.
 */
export function broadcastJson(b: Broadcast, detail: "summary" | "full"): Record<string, unknown> {
  const summary = {
    id: b.id,
    status: b.status,
    message: { text: b.message.text, parse_mode: b.message.parseMode ?? null },
    created_by: b.createdBy,
    error_threshold: b.errorThreshold,
    total_recipients: b.totalRecipients,
    sent_count: b.sentCount,
    failed_count: b.failedCount,
    pending_count: pendingCount(b),
    cancelled_count: cancelledCount(b),
    progress_pct: progressPct(b),
    processed_pct: processedPct(b),
    error_summary: errorSummary(b.failedCount, b.errorCounts),
    pause_reason: pauseReasonJson(b.pauseReason),
    created_at: b.createdAt.toISOString(),
    scheduled_at: iso(b.scheduledAt),
    sent_at: iso(b.sentAt),
    completed_at: iso(b.completedAt),
    version: b.version,
  };
  if (detail === "summary") return summary;
  return {
    ...summary,
    // Error texts are keys: `__proto__` or `constructor` must stay ordinary ones.
    error_counts: Object.assign(Object.create(null) as Record<string, number>, b.errorCounts),
    error_log: b.errorLog.map((entry) => ({
      recipient_id: entry.recipientId,
      error: entry.error,
      timestamp: entry.timestamp.toISOString(),
    })),
  };
}

export function recipientJson(r: Recipient): Record<string, unknown> {
  return {
    broadcast_id: r.broadcastId,
    recipient_id: r.recipientId,
    chat_id: r.chatId,
    variables: r.variables,
    status: r.state,
    attempts: r.attempts,
    last_error: r.lastError,
    last_error_kind: r.lastErrorKind,
    next_attempt_at: iso(r.nextAttemptAt),
    message_id: r.messageId,
  };
}

/** One delivery of the webhook log, with the payload it carries (as sent on every attempt). */
export function webhookDeliveryJson(d: WebhookDelivery): Record<string, unknown> {
  return {
    id: d.id,
    endpoint_id: d.endpointId,
    event_id: webhookMessageId(d.event),
    event_type: d.event.type,
    broadcast_id: d.event.broadcastId,
    occurred_at: d.event.occurredAt.toISOString(),
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: iso(d.nextAttemptAt),
    last_attempt_at: iso(d.lastAttemptAt),
    last_error: d.lastError,
    last_status_code: d.lastStatusCode,
    delivered_at: iso(d.deliveredAt),
    payload: webhookPayload(d.event),
  };
}

export const pageJson = <T>(page: Page<T>, item: (value: T) => unknown) => ({
  items: page.items.map(item),
  next_cursor: page.nextCursor,
});

/** The seed's cancel response: `success` and `message` repeat inside `data`, as the seed has them. */
export const cancelJson = (result: CancelResult, catalog: MessageCatalog) => ({
  success: true,
  message: catalog.cancelled,
  broadcast_id: result.broadcastId,
  cancelled_at: result.cancelledAt.toISOString(),
});

/** The seed's retry response; retrying nobody is a success with its own message. */
export const retryJson = (result: RetryResult, catalog: MessageCatalog) => ({
  success: true,
  message: result.retriedCount > 0 ? catalog.retryQueued(result.retriedCount) : catalog.nothingToRetry,
  retried_count: result.retriedCount,
  skipped_count: result.skippedCount,
  broadcast_id: result.broadcastId,
  task_id: result.taskId,
});
