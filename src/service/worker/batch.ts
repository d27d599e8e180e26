import type { RecipientOutcome } from "../../core/outcome.js";
import type { ClaimedRecipient } from "../../ports/store.js";
import { type BatchMessage, type DeliveryContext, deliverOne } from "./deliver.js";

export interface BatchResult {
  readonly outcomes: RecipientOutcome[];
  /** The description Telegram gave when it refused the message itself; `null` when it did not. */
  readonly refusal: string | null;
}

/**
 * Sends a claimed batch one recipient after another, in claim order. Once the message itself is
 * refused, that recipient and the rest of the batch are released unsent: they would all fail.
 */
export async function sendBatch(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipients: readonly ClaimedRecipient[],
): Promise<BatchResult> {
  const outcomes: RecipientOutcome[] = [];
  for (let index = 0; index < recipients.length; index++) {
    const recipient = recipients[index] as ClaimedRecipient;
    const outcome = await deliverOne(ctx, batch, recipient);
    if (outcome.type === "content_refused") {
      for (const unsent of recipients.slice(index)) {
        outcomes.push({ type: "released", recipientId: unsent.recipientId });
      }
      return { outcomes, refusal: outcome.description };
    }
    outcomes.push(outcome);
  }
  return { outcomes, refusal: null };
}

export interface BatchTally {
  delivered: number;
  failed: number;
  retrying: number;
  released: number;
}

export function tallyOutcomes(tally: BatchTally, outcomes: readonly RecipientOutcome[]): void {
  for (const outcome of outcomes) {
    if (outcome.type === "delivered") tally.delivered++;
    else if (outcome.type === "failed") tally.failed++;
    else if (outcome.type === "retry") tally.retrying++;
    else tally.released++;
  }
}

/**
 * Pauses only when this batch carried the failed count across the threshold, so a broadcast an
 * admin resumed above its threshold goes on (until a retry lowers the count and it crosses again).
 */
export function crossedThreshold(
  threshold: number | null,
  failedAfter: number,
  newlyFailed: number,
): boolean {
  if (threshold === null || newlyFailed === 0) return false;
  return failedAfter >= threshold && failedAfter - newlyFailed < threshold;
}
