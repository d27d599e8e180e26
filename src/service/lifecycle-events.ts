import type { Broadcast } from "../core/types.js";
import type { BroadcastKitEvent } from "../ports/events.js";

/** The `broadcast.completed` event for a broadcast that has just settled, or `null` if it has not. */
export function completedEvent(broadcast: Broadcast, at: Date): BroadcastKitEvent | null {
  const { status } = broadcast;
  if (status !== "sent" && status !== "completed" && status !== "failed") return null;
  return {
    type: "broadcast.completed",
    broadcastId: broadcast.id,
    at,
    status,
    totalRecipients: broadcast.totalRecipients,
    sentCount: broadcast.sentCount,
    failedCount: broadcast.failedCount,
  };
}
