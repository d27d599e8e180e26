import { mayRetry, nextAttemptAt, type RandomSource, type RetryPolicy } from "./retry-policy.js";
import type { ChatId, FailureKind, RecipientId } from "./types.js";

/** What a sender reports for one message (the `MessageSender` port's answer). */
export type SendResult =
  | { readonly status: "delivered"; readonly messageId?: number | string }
  | {
      readonly status: "failed";
      readonly kind: FailureKind;
      readonly description: string;
      /** The platform asked to wait this long before the next call (Telegram 429 `retry_after`). */
      readonly retryAfterMs?: number;
      /** The group became a supergroup: resend to this chat id. */
      readonly migrateToChatId?: number;
    }
  /**
   * The sender gave up before the message left, because the worker's `signal` aborted while the
   * call waited for its turn (rate limiting). Nothing reached the platform: the recipient stays
   * pending. Only honoured when the worker did abort; otherwise it counts as a sender error.
   */
  | { readonly status: "not_sent" };

/**
 * What happens to one claimed recipient, as the store records it. The store derives every
 * counter from these, so counters cannot drift from recipient states.
 */
export type RecipientOutcome =
  | {
      readonly type: "delivered";
      readonly recipientId: RecipientId;
      readonly attempts: number;
      readonly messageId: number | string | null;
      /** Set when the chat migrated: the recipient's chat id becomes this one. */
      readonly chatId?: ChatId;
    }
  | {
      readonly type: "failed";
      readonly recipientId: RecipientId;
      readonly attempts: number;
      readonly error: string;
      readonly kind: FailureKind;
      readonly chatId?: ChatId;
    }
  /** Stays pending and is tried again at `nextAttemptAt`. */
  | {
      readonly type: "retry";
      readonly recipientId: RecipientId;
      readonly attempts: number;
      readonly error: string;
      readonly kind: FailureKind;
      readonly nextAttemptAt: Date;
      readonly chatId?: ChatId;
    }
  /** Stays pending exactly as it was claimed (content refused, or not sent because the job stopped). */
  | { readonly type: "released"; readonly recipientId: RecipientId };

export type RecipientOutcomeType = RecipientOutcome["type"];

export const DELIVERY_UNKNOWN = "delivery unknown: worker stopped";
export const SENDER_ERROR = "sender error";

export interface OutcomeContext {
  readonly recipientId: RecipientId;
  /** Attempts made before this one, in the current pass. */
  readonly attemptsBefore: number;
  readonly policy: RetryPolicy;
  readonly now: Date;
  readonly random?: RandomSource;
  /** Set when the message went to a migrated chat id. */
  readonly migratedTo?: ChatId;
}

/**
 * Turns a send result into the recipient's next state: delivered; permanent → failed at once;
 * transient → retried on the policy's schedule, failed after the last retry; a 429 waits its
 * `retry_after` and does not use up a retry; content → released (the broadcast pauses instead).
 */
export function decideOutcome(result: SendResult, ctx: OutcomeContext): RecipientOutcome {
  const { recipientId, attemptsBefore, policy, now } = ctx;
  const migrated = ctx.migratedTo === undefined ? {} : { chatId: ctx.migratedTo };
  if (result.status === "not_sent") return { type: "released", recipientId };
  if (result.status === "delivered") {
    return {
      type: "delivered",
      recipientId,
      attempts: attemptsBefore + 1,
      messageId: result.messageId ?? null,
      ...migrated,
    };
  }
  const { kind, description: error } = result;
  if (kind === "content") return { type: "released", recipientId };
  if (kind === "permanent")
    return { type: "failed", recipientId, attempts: attemptsBefore + 1, error, kind, ...migrated };

  const throttled = result.retryAfterMs !== undefined && result.retryAfterMs > 0;
  const attempts = throttled ? attemptsBefore : attemptsBefore + 1;
  if (!throttled && !mayRetry(policy, attempts)) {
    return { type: "failed", recipientId, attempts, error, kind, ...migrated };
  }
  const retryNumber = Math.max(1, attempts);
  const at = throttled
    ? new Date(now.getTime() + (result.retryAfterMs ?? 0))
    : nextAttemptAt(policy, retryNumber, now, ctx.random);
  return { type: "retry", recipientId, attempts, error, kind, nextAttemptAt: at, ...migrated };
}

/** The key a deduplicating sender may use so one recipient of one broadcast is messaged once. */
export const idempotencyKey = (broadcastId: number, recipientId: RecipientId): string =>
  `broadcast:${broadcastId}:recipient:${recipientId}`;
