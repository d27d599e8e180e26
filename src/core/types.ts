/** The lifecycle of a broadcast. Wire values are these lower-case strings. */
export const BROADCAST_STATUSES = [
  "draft",
  "scheduled",
  "sending",
  "paused",
  "sent",
  "completed",
  "failed",
  "cancelled",
] as const;
export type BroadcastStatus = (typeof BROADCAST_STATUSES)[number];

/** Statuses a broadcast never leaves on its own; `completed` and `failed` still allow a manual retry. */
export const FINISHED_STATUSES: readonly BroadcastStatus[] = ["sent", "completed", "failed", "cancelled"];

export const PARSE_MODES = ["HTML", "MarkdownV2"] as const;
export type ParseMode = (typeof PARSE_MODES)[number];

/** A refusal of duplicate recipient ids names at most this many of them: enough to fix a file. */
export const MAX_NAMED_DUPLICATES = 100;

/** The host's id of a recipient: unique within one broadcast. */
export type RecipientId = number | string;
/** A Telegram chat: an integer id (up to 52 bits) or a public `@channelusername`. */
export type ChatId = number | string;

/** What a store keeps of a recipient. */
export const RECIPIENT_STATES = ["pending", "sent", "failed"] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

/**
 * What a recipient reads as: its stored state, except that one still pending when its broadcast
 * was cancelled reads `cancelled` (it will never be sent). Derived when read: a cancel writes
 * nothing per recipient, so it stays O(1) however large the broadcast.
 */
export const RECIPIENT_STATUSES = [...RECIPIENT_STATES, "cancelled"] as const;
export type RecipientStatus = (typeof RECIPIENT_STATUSES)[number];

/**
 * Why a send failed:
 * - `transient`: may succeed later (network, timeout, 5xx, 429);
 * - `permanent`: will fail again for this chat (blocked, deactivated, chat not found);
 * - `content`: the message itself is refused, so every recipient would fail.
 */
export const FAILURE_KINDS = ["transient", "permanent", "content"] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export type TemplateVariables = Readonly<Record<string, string | number | boolean>>;

export interface BroadcastMessage {
  readonly text: string;
  readonly parseMode?: ParseMode;
}

/**
 * Why a broadcast is paused; `null` when it is not. A `content_refused` description is normalised
 * like a failure description (`normalizeDescription`) when the pause is decided.
 */
export type PauseReason =
  | { readonly type: "manual" }
  | { readonly type: "content_refused"; readonly description: string }
  | { readonly type: "error_threshold"; readonly failedCount: number; readonly threshold: number };

export interface ErrorLogEntry {
  readonly recipientId: RecipientId;
  readonly error: string;
  readonly timestamp: Date;
}

export interface Broadcast {
  readonly id: number;
  readonly status: BroadcastStatus;
  readonly message: BroadcastMessage;
  readonly createdBy: string | number | null;
  /** Failed recipients (not counting retries in flight) above which the broadcast pauses itself; `null`: never. */
  readonly errorThreshold: number | null;
  readonly totalRecipients: number;
  readonly sentCount: number;
  readonly failedCount: number;
  /**
   * Failed recipients per error text; adds up to `failedCount` (except after a manual
   * `updateProgress`). Keyed by data: stores hand it out without a prototype, so read it with
   * `Object.entries` or `Object.hasOwn`.
   */
  readonly errorCounts: Readonly<Record<string, number>>;
  /** Newest last, bounded: only the newest entries are kept. */
  readonly errorLog: readonly ErrorLogEntry[];
  readonly pauseReason: PauseReason | null;
  readonly createdAt: Date;
  readonly scheduledAt: Date | null;
  /** When sending first started. */
  readonly sentAt: Date | null;
  /** When it reached sent, completed, failed or cancelled; cleared by a retry. */
  readonly completedAt: Date | null;
  /** Grows with every stored change: a cheap "has anything changed" for pollers and streams. */
  readonly version: number;
}

export interface Recipient {
  readonly broadcastId: number;
  readonly recipientId: RecipientId;
  readonly chatId: ChatId;
  readonly variables: TemplateVariables | null;
  /** `cancelled` only as the service reads it (see `RecipientStatus`); stores hold the other three. */
  readonly state: RecipientStatus;
  /** Attempts in the current pass; a manual retry starts a new pass at 0. */
  readonly attempts: number;
  /** The error of the latest failed attempt; cleared once the recipient is delivered. */
  readonly lastError: string | null;
  readonly lastErrorKind: FailureKind | null;
  /** A pending recipient waiting for its next attempt; it still counts as pending. */
  readonly nextAttemptAt: Date | null;
  readonly messageId: number | string | null;
}

export interface NewRecipient {
  readonly recipientId: RecipientId;
  readonly chatId: ChatId;
  readonly variables?: TemplateVariables | undefined;
}

export interface SendJob {
  readonly broadcastId: number;
  readonly onlyFailed: boolean;
  /**
   * Which of the jobs sharing the broadcast this is, when it was started with `parallelism` above
   * one (0 by default): each part is queued, continued and deduplicated on its own, and all parts
   * share the broadcast's recipients through the store's leases.
   */
  readonly part?: number | undefined;
}

/** Most jobs one broadcast may be shared by. */
export const MAX_PARALLELISM = 64;

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; `null` on the last page. */
  readonly nextCursor: string | null;
}
