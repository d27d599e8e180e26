import type { BroadcastStatus, FailureKind, PauseReason, RecipientId } from "../core/types.js";

/**
 * # The events port: what happened, for the host to act on
 *
 * Optional. The service and worker emit after the change is stored, so a listener never sees an
 * event for a change that did not happen. Delivery is at most once per change and in-process: a
 * listener that throws or rejects is logged and ignored; it never undoes or blocks the change.
 * For durable webhooks, a listener writes to the host's own outbox.
 */
export interface EventSink {
  emit(event: BroadcastKitEvent): void | Promise<void>;
}

interface EventBase {
  readonly broadcastId: number;
  readonly at: Date;
}

export type BroadcastKitEvent =
  | (EventBase & { readonly type: "broadcast.started" })
  | (EventBase & { readonly type: "broadcast.paused"; readonly reason: PauseReason })
  | (EventBase & { readonly type: "broadcast.resumed" })
  | (EventBase & { readonly type: "broadcast.cancelled" })
  | (EventBase & {
      readonly type: "broadcast.completed";
      readonly status: Extract<BroadcastStatus, "sent" | "completed" | "failed">;
      readonly totalRecipients: number;
      readonly sentCount: number;
      readonly failedCount: number;
    })
  | (EventBase & {
      readonly type: "recipient.failed";
      readonly recipientId: RecipientId;
      readonly error: string;
      readonly kind: FailureKind;
    });

export type BroadcastKitEventType = BroadcastKitEvent["type"];
