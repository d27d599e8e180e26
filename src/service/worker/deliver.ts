import {
  DELIVERY_UNKNOWN,
  decideOutcome,
  idempotencyKey,
  type RecipientOutcome,
  SENDER_ERROR,
  type SendResult,
} from "../../core/outcome.js";
import type { RandomSource, RetryPolicy } from "../../core/retry-policy.js";
import {
  MAX_MESSAGE_LENGTH,
  type ParsedTemplate,
  parseTemplate,
  renderParsedTemplate,
} from "../../core/template.js";
import type { Broadcast, ChatId, ParseMode } from "../../core/types.js";
import type { Clock } from "../../ports/clock.js";
import type { Logger } from "../../ports/logger.js";
import type { MessageSender, OutgoingMessage, SendOptions } from "../../ports/sender.js";
import type { ClaimedRecipient } from "../../ports/store.js";
import type { DeliveryGuarantee } from "../types.js";
import { asSendResult, isPlainDelivery } from "./send-result-shape.js";

export interface DeliveryContext {
  readonly sender: MessageSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: RetryPolicy;
  readonly guarantee: DeliveryGuarantee;
  readonly random: RandomSource;
}

/** What one run sends: the broadcast's message, prepared once per run. */
export interface BatchMessage {
  readonly broadcastId: number;
  readonly text: string;
  readonly parseMode: ParseMode | undefined;
  /** Parsed once per run; `null` without placeholders: every recipient gets `text` as it is. */
  readonly template: ParsedTemplate | null;
  /** The run's start, for outcomes that schedule nothing. */
  readonly now: Date;
}

export function batchMessage(broadcast: Broadcast, now: Date): BatchMessage {
  const { text, parseMode } = broadcast.message;
  const parsed = parseTemplate(text);
  const template = parsed.placeholders.length > 0 ? parsed : null;
  return { broadcastId: broadcast.id, text, parseMode, template, now };
}

/** The message itself was refused: nobody else should get it until an admin looks. */
export interface ContentRefusal {
  readonly type: "content_refused";
  readonly description: string;
}

const SENDER_FAILURE: SendResult = { status: "failed", kind: "transient", description: SENDER_ERROR };

export function outgoing(
  batch: BatchMessage,
  recipientId: ClaimedRecipient["recipientId"],
  chatId: ChatId,
  text: string,
): OutgoingMessage {
  const { broadcastId, parseMode } = batch;
  const key = idempotencyKey(broadcastId, recipientId);
  return parseMode === undefined
    ? { chatId, text, idempotencyKey: key, broadcastId, recipientId }
    : { chatId, text, parseMode, idempotencyKey: key, broadcastId, recipientId };
}

/**
 * Under at-most-once, a recipient taken over from an expired lease may have been sent by the
 * worker that held it: it is never sent again.
 */
export function mustNotResend(ctx: DeliveryContext, recipient: ClaimedRecipient): boolean {
  return recipient.takenOver && ctx.guarantee === "at-most-once";
}

/** The outcome of a recipient that may have been sent already and must not be sent again. */
export function deliveryUnknown(recipient: ClaimedRecipient): RecipientOutcome {
  return {
    type: "failed",
    recipientId: recipient.recipientId,
    attempts: recipient.attempts + 1,
    error: DELIVERY_UNKNOWN,
    kind: "permanent",
  };
}

/** What to send this recipient, or the outcome that makes sending pointless. */
export function prepare(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipient: ClaimedRecipient,
): string | RecipientOutcome {
  const { recipientId, attempts } = recipient;
  if (mustNotResend(ctx, recipient)) return deliveryUnknown(recipient);
  const text = batch.template
    ? renderParsedTemplate(batch.template, recipient.variables, batch.parseMode)
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
  return text;
}

/**
 * Sends one claimed recipient its message and decides its outcome. The hot path (a plain
 * delivery) costs one sender call and one outcome; a refused message comes back as a
 * `ContentRefusal` (the recipient stays pending and the run stops starting sends).
 */
export async function deliverOne(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipient: ClaimedRecipient,
  options: SendOptions,
): Promise<RecipientOutcome | ContentRefusal> {
  const prepared = prepare(ctx, batch, recipient);
  if (typeof prepared !== "string") return prepared;
  const message = outgoing(batch, recipient.recipientId, recipient.chatId, prepared);
  let first: SendResult;
  try {
    const answer = await ctx.sender.send(message, options);
    if (isPlainDelivery(answer)) return deliveredOutcome(ctx, batch, recipient, answer);
    first = checkedAnswer(ctx, message, answer, options);
  } catch (cause) {
    first = senderThrew(ctx, message, cause);
  }
  // Only a migration needs another call; everything else is decided in the same turn, so a
  // refusal stops the run as soon as its answer arrives.
  if (first.status === "failed" && first.migrateToChatId !== undefined) {
    return resendToMigratedChat(ctx, batch, recipient, message, first, options);
  }
  return decided(ctx, batch, recipient, first);
}

/**
 * The outcome of an answer: a refused message stops the run; failures are scheduled on the retry
 * policy from the time they happened; a send the sender gave up on because the run was stopping
 * leaves the recipient pending.
 */
function decided(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipient: ClaimedRecipient,
  result: SendResult,
  migratedTo?: ChatId,
): RecipientOutcome | ContentRefusal {
  if (result.status === "failed" && result.kind === "content") {
    return { type: "content_refused", description: result.description };
  }
  const context = {
    recipientId: recipient.recipientId,
    attemptsBefore: recipient.attempts,
    policy: ctx.policy,
    now: result.status === "delivered" ? batch.now : ctx.clock.now(),
    random: ctx.random,
  };
  return decideOutcome(result, migratedTo === undefined ? context : { ...context, migratedTo });
}

/** Calls the sender; a throw or an answer outside the port's shape is a transient failure, never the job's. */
export async function sendSafely(
  ctx: DeliveryContext,
  message: OutgoingMessage,
  options: SendOptions,
): Promise<SendResult> {
  try {
    return checkedAnswer(ctx, message, await ctx.sender.send(message, options), options);
  } catch (cause) {
    return senderThrew(ctx, message, cause);
  }
}

export function checkedAnswer(
  ctx: DeliveryContext,
  message: OutgoingMessage,
  answer: unknown,
  options: SendOptions,
): SendResult {
  const result = asSendResult(answer);
  const { broadcastId, recipientId } = message;
  // "Not sent" is believed only when the worker asked the sender to give up: otherwise a sender
  // could keep a recipient pending forever.
  if (result?.status === "not_sent" && options.signal?.aborted !== true) {
    ctx.logger.warn({ broadcastId, recipientId }, "sender answered not_sent without being aborted");
    return SENDER_FAILURE;
  }
  if (result !== null) return result;
  ctx.logger.warn({ broadcastId, recipientId, answer }, "sender answered outside the port's shape");
  return SENDER_FAILURE;
}

/** The outcome of a send that failed inside the worker itself (a bug): retried like a sender error. */
export function unexpectedFailure(ctx: DeliveryContext, recipient: ClaimedRecipient): RecipientOutcome {
  return decideOutcome(SENDER_FAILURE, {
    recipientId: recipient.recipientId,
    attemptsBefore: recipient.attempts,
    policy: ctx.policy,
    now: ctx.clock.now(),
    random: ctx.random,
  });
}

export function senderThrew(ctx: DeliveryContext, message: OutgoingMessage, cause: unknown): SendResult {
  const { broadcastId, recipientId } = message;
  ctx.logger.warn({ broadcastId, recipientId, err: cause }, "sender threw");
  return SENDER_FAILURE;
}

/** The outcome of a plain delivery: the hot path, with nothing to check or schedule. */
export function deliveredOutcome(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipient: ClaimedRecipient,
  answer: SendResult,
): RecipientOutcome {
  return decideOutcome(answer, {
    recipientId: recipient.recipientId,
    attemptsBefore: recipient.attempts,
    policy: ctx.policy,
    now: batch.now,
    random: ctx.random,
  });
}

/** A migrated chat gets the message once more at its new id, which the outcome carries to the store. */
async function resendToMigratedChat(
  ctx: DeliveryContext,
  batch: BatchMessage,
  recipient: ClaimedRecipient,
  message: OutgoingMessage,
  first: SendResult,
  options: SendOptions,
): Promise<RecipientOutcome | ContentRefusal> {
  let result = first;
  let migratedTo: ChatId | undefined;
  if (result.status === "failed" && result.migrateToChatId !== undefined) {
    migratedTo = result.migrateToChatId;
    ctx.logger.info(
      { broadcastId: batch.broadcastId, recipientId: recipient.recipientId, migratedTo },
      "chat migrated; sending again",
    );
    result = await sendSafely(ctx, { ...message, chatId: migratedTo }, options);
  }
  return decided(ctx, batch, recipient, result, migratedTo);
}
