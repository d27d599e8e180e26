import type { RecipientOutcome, SendResult } from "../../core/outcome.js";
import type { ClaimedRecipient } from "../../ports/store.js";
import {
  type BatchMessage,
  checkedAnswer,
  type DeliveryContext,
  deliveredOutcome,
  outgoing,
  prepare,
  senderThrew,
  settleAnswer,
} from "./deliver.js";
import { isPlainDelivery } from "./send-result-shape.js";

export interface BatchResult {
  readonly outcomes: RecipientOutcome[];
  /** The description the platform gave when it refused the message itself; `null` when it did not. */
  readonly refusal: string | null;
}

/**
 * Sends a claimed batch one recipient after another, in claim order. Once the message itself is
 * refused, that recipient and the rest of the batch are released unsent: they would all fail.
 * The loop is the worker's hot path: a plain delivery costs one sender call and one outcome.
 */
export async function sendBatch(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipients: readonly ClaimedRecipient[],
): Promise<BatchResult> {
  const outcomes: RecipientOutcome[] = [];
  for (let index = 0; index < recipients.length; index++) {
    const recipient = recipients[index] as ClaimedRecipient;
    const prepared = prepare(ctx, batch, recipient);
    if (typeof prepared !== "string") {
      outcomes.push(prepared);
      continue;
    }
    const message = outgoing(batch, recipient.recipientId, recipient.chatId, prepared);
    let answer: unknown;
    let first: SendResult;
    try {
      answer = await ctx.sender.send(message);
      if (isPlainDelivery(answer)) {
        outcomes.push(deliveredOutcome(ctx, batch, recipient, answer));
        continue;
      }
      first = checkedAnswer(ctx, message, answer);
    } catch (cause) {
      first = senderThrew(ctx, message, cause);
    }
    const outcome = await settleAnswer(ctx, batch, recipient, message, first);
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
