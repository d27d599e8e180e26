import {
  DELIVERY_UNKNOWN,
  decideOutcome,
  idempotencyKey,
  type RecipientOutcome,
  SENDER_ERROR,
  type SendResult,
} from "../../core/outcome.js";
import type { RandomSource, RetryPolicy } from "../../core/retry-policy.js";
import { MAX_MESSAGE_LENGTH, placeholdersOf, renderTemplate } from "../../core/template.js";
import type { Broadcast, ChatId, ParseMode } from "../../core/types.js";
import type { Clock } from "../../ports/clock.js";
import type { Logger } from "../../ports/logger.js";
import type { MessageSender, OutgoingMessage } from "../../ports/sender.js";
import type { ClaimedRecipient } from "../../ports/store.js";
import type { DeliveryGuarantee } from "../types.js";
import { asSendResult } from "./send-result-shape.js";

export interface DeliveryContext {
  readonly sender: MessageSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: RetryPolicy;
  readonly guarantee: DeliveryGuarantee;
  readonly random: RandomSource | undefined;
}

/** What one batch sends: the broadcast's message, prepared once per batch. */
export interface BatchMessage {
  readonly broadcastId: number;
  readonly text: string;
  readonly parseMode: ParseMode | undefined;
  /** Without placeholders every recipient gets `text` as it is: no rendering. */
  readonly templated: boolean;
  /** The batch's time, for outcomes that do not schedule anything. */
  readonly now: Date;
}

export function batchMessage(broadcast: Broadcast, now: Date): BatchMessage {
  const { text, parseMode } = broadcast.message;
  return { broadcastId: broadcast.id, text, parseMode, templated: placeholdersOf(text).length > 0, now };
}

/** The message itself was refused: nobody else should get it until an admin looks. */
export interface ContentRefusal {
  readonly type: "content_refused";
  readonly description: string;
}

const SENDER_FAILURE: SendResult = { status: "failed", kind: "transient", description: SENDER_ERROR };

/** The port may throw or answer nonsense; either is a transient failure of this recipient, never of the job. */
async function sendSafely(ctx: DeliveryContext, message: OutgoingMessage): Promise<SendResult> {
  const where = { broadcastId: message.broadcastId, recipientId: message.recipientId };
  try {
    const answer: unknown = await ctx.sender.send(message);
    const result = asSendResult(answer);
    if (result !== null) return result;
    ctx.logger.warn({ ...where, answer }, "sender answered outside the port's shape");
  } catch (cause) {
    ctx.logger.warn({ ...where, err: cause }, "sender threw");
  }
  return SENDER_FAILURE;
}

function outgoing(
  batch: BatchMessage,
  recipient: ClaimedRecipient,
  chatId: ChatId,
  text: string,
): OutgoingMessage {
  const { broadcastId, parseMode } = batch;
  const { recipientId } = recipient;
  const key = idempotencyKey(broadcastId, recipientId);
  return parseMode === undefined
    ? { chatId, text, idempotencyKey: key, broadcastId, recipientId }
    : { chatId, text, parseMode, idempotencyKey: key, broadcastId, recipientId };
}

/**
 * Sends one claimed recipient its message and decides what becomes of it. A chat that migrated
 * gets the message once more at its new id, which the outcome carries to the store.
 */
export async function deliverOne(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipient: ClaimedRecipient,
): Promise<RecipientOutcome | ContentRefusal> {
  const { recipientId, attempts } = recipient;
  if (recipient.takenOver && ctx.guarantee === "at-most-once") {
    return {
      type: "failed",
      recipientId,
      attempts: attempts + 1,
      error: DELIVERY_UNKNOWN,
      kind: "permanent",
    };
  }
  const text = batch.templated
    ? renderTemplate(batch.text, recipient.variables, batch.parseMode)
    : batch.text;
  if (text.length > MAX_MESSAGE_LENGTH) {
    return {
      type: "failed",
      recipientId,
      attempts: attempts + 1,
      error: "message is too long",
      kind: "permanent",
    };
  }
  let result = await sendSafely(ctx, outgoing(batch, recipient, recipient.chatId, text));
  let migratedTo: ChatId | undefined;
  if (result.status === "failed" && result.migrateToChatId !== undefined) {
    migratedTo = result.migrateToChatId;
    ctx.logger.info(
      { broadcastId: batch.broadcastId, recipientId, migratedTo },
      "chat migrated; sending again",
    );
    result = await sendSafely(ctx, outgoing(batch, recipient, migratedTo, text));
  }
  if (result.status === "failed" && result.kind === "content") {
    return { type: "content_refused", description: result.description };
  }
  const now = result.status === "delivered" ? batch.now : ctx.clock.now();
  const base = { recipientId, attemptsBefore: attempts, policy: ctx.policy, now };
  const withRandom = ctx.random === undefined ? base : { ...base, random: ctx.random };
  return decideOutcome(result, migratedTo === undefined ? withRandom : { ...withRandom, migratedTo });
}
