import type { BroadcastStatus } from "../../core/types.js";
import type { WebhookDelivery, WebhookDeliveryState, WebhookEventType } from "../../core/webhooks.js";

/** Events turned into deliveries per claim at most: a claim after a long pause stays short. */
export const FANOUT_BATCH = 1_000;

/** A delivery joined with its event, as both SQL stores select it (times in epoch milliseconds). */
export interface DeliveryRow {
  readonly id: number | string;
  readonly endpoint_id: string;
  readonly state: string;
  readonly attempts: number;
  readonly next_attempt_at: number | string | null;
  readonly last_attempt_at: number | string | null;
  readonly last_error: string | null;
  readonly last_status_code: number | null;
  readonly delivered_at: number | string | null;
  readonly event_id: number | string;
  readonly type: string;
  readonly broadcast_id: number | string;
  readonly previous_status: string;
  readonly status: string;
  readonly occurred_at: number | string;
  readonly total_recipients: number;
  readonly sent_count: number;
  readonly failed_count: number;
}

const time = (ms: number | string | null): Date | null => (ms === null ? null : new Date(Number(ms)));

export function toDelivery(row: DeliveryRow): WebhookDelivery {
  return {
    id: Number(row.id),
    endpointId: row.endpoint_id,
    event: {
      id: Number(row.event_id),
      type: row.type as WebhookEventType,
      broadcastId: Number(row.broadcast_id),
      previousStatus: row.previous_status as BroadcastStatus,
      status: row.status as BroadcastStatus,
      occurredAt: new Date(Number(row.occurred_at)),
      totalRecipients: Number(row.total_recipients),
      sentCount: Number(row.sent_count),
      failedCount: Number(row.failed_count),
    },
    state: row.state as WebhookDeliveryState,
    attempts: Number(row.attempts),
    nextAttemptAt: time(row.next_attempt_at),
    lastAttemptAt: time(row.last_attempt_at),
    lastError: row.last_error,
    lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
    deliveredAt: time(row.delivered_at),
  };
}
