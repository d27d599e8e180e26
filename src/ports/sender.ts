import type { SendResult } from "../core/outcome.js";
import type { ChatId, ParseMode, RecipientId } from "../core/types.js";

export type { SendResult } from "../core/outcome.js";

/**
 * # The sender port: delivers one message to one chat
 *
 * Implemented by `broadcastkit/telegram` (the Bot API), by `createFakeSender` for tests, and by
 * hosts for other channels.
 *
 * ## Promises a sender makes
 * - It answers every call with a `SendResult`: `delivered` (with the platform's message id when it
 *   has one) or `failed` with a kind — `transient` (may work later: network, timeout, 5xx, 429),
 *   `permanent` (will fail again for this chat), `content` (the message itself is refused).
 * - On a rate limit it reports `retryAfterMs`, and it paces its own later calls (every call for the
 *   same bot waits out a `retry_after`).
 * - On a chat migration it reports `migrateToChatId`; the worker resends there.
 * - `idempotencyKey` is stable per broadcast and recipient; a sender that can deduplicate uses it.
 *
 * - When `options.signal` aborts while a call still waits for its turn, it may answer `not_sent`
 *   (nothing left for the platform); see `SendOptions`.
 *
 * ## What it may do, and the worker tolerates
 * - Throw, or answer something outside this shape: the worker counts it as a transient failure
 *   (`"sender error"`) and logs the cause; it never stops the job.
 *
 * ## What it must not do
 * - Put secrets (a bot token) into `description`: descriptions are stored and shown to admins.
 */
export interface MessageSender {
  send(message: OutgoingMessage, options?: SendOptions): Promise<SendResult>;
}

export interface SendOptions {
  /**
   * Aborted when the worker stops starting sends (the broadcast was cancelled or paused, or the
   * worker is closing). A sender still waiting for its turn (rate limiting) should give up and
   * answer `{ status: "not_sent" }`; the recipient then stays pending. A call already on its way
   * must not be abandoned: its real outcome is what gets recorded. Senders may ignore it.
   */
  readonly signal?: AbortSignal;
}

export interface OutgoingMessage {
  readonly chatId: ChatId;
  /** Already rendered for this recipient and escaped for `parseMode`. */
  readonly text: string;
  readonly parseMode?: ParseMode;
  /** `broadcast:<broadcastId>:recipient:<recipientId>` */
  readonly idempotencyKey: string;
  readonly broadcastId: number;
  readonly recipientId: RecipientId;
}
