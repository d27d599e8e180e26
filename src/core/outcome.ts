import { mayRetry, nextAttemptAt, type RandomSource, type RetryPolicy } from "./retry-policy.js";
import type { ChatId, FailureKind, RecipientId } from "./types.js";

/**
 * The longest failure description kept, in UTF-16 code units. Telegram's own descriptions are
 * under 200; a proxy or a host's sender may hand back a whole HTML error page.
 */
export const MAX_DESCRIPTION_LENGTH = 1_000;

/** A NUL, or a surrogate without its other half: text no database column or JSON value takes as is. */
const ILL_FORMED = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A failure description as every store receives it: each NUL and each lone surrogate becomes
 * U+FFFD, and the text is cut to its first `MAX_DESCRIPTION_LENGTH` units, never between the two
 * halves of a surrogate pair. Descriptions come from the platform, a proxy or the host's sender:
 * untrusted text, normalised once here so that no store has to cope with it (PostgreSQL refuses a
 * NUL in text and a lone surrogate in JSON, which would leave a batch unrecordable).
 */
export function normalizeDescription(description: string): string {
  const wellFormed = description.replace(ILL_FORMED, "\uFFFD");
  if (wellFormed.length <= MAX_DESCRIPTION_LENGTH) return wellFormed;
  const lastKept = wellFormed.charCodeAt(MAX_DESCRIPTION_LENGTH - 1);
  const splitsAPair = lastKept >= 0xd800 && lastKept <= 0xdbff;
  return wellFormed.slice(0, splitsAPair ? MAX_DESCRIPTION_LENGTH - 1 : MAX_DESCRIPTION_LENGTH);
}

/** What a sender reports for one message (the `MessageSender` port's answer). */
export type SendResult =
  | { readonly status: "delivered"; readonly messageId?: number | string }
  | {
      readonly status: "failed";
      readonly kind: FailureKind;
      /**
       * The platform's explanation, shown to admins and counted per text. Any string is accepted:
       * `decideOutcome` normalises it (`normalizeDescription`: NUL and lone surrogates become
       * U+FFFD, at most `MAX_DESCRIPTION_LENGTH` units) before it reaches an outcome or a store.
       */
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
 * counter from these, so counters cannot drift from recipient states. An `error` built by
 * `decideOutcome` is already normalised (`normalizeDescription`): well-formed, without NUL, at most
 * `MAX_DESCRIPTION_LENGTH` units; stores keep it exactly as given, whatever it says (`__proto__`,
 * SQL, JSON, quotes and emoji included).
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
    const attempts = attemptsBefore + 1;
    const messageId = result.messageId ?? null;
    // The hot path: a literal of fixed shape, without spreading an empty object into it.
    return ctx.migratedTo === undefined
      ? { type: "delivered", recipientId, attempts, messageId }
      : { type: "delivered", recipientId, attempts, messageId, chatId: ctx.migratedTo };
  }
  const { kind } = result;
  if (kind === "content") return { type: "released", recipientId };
  const error = normalizeDescription(result.description);
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
