import type {
  Broadcast,
  BroadcastStatus,
  ErrorLogEntry,
  FailureKind,
  ParseMode,
  Recipient,
  RecipientState,
} from "../../core/types.js";
import type { ClaimedRecipient } from "../../ports/store.js";
import {
  decodeCreatedBy,
  decodeMessageId,
  decodePauseReason,
  decodeRecipientId,
  joinChatId,
  parseVariables,
} from "./codec.js";
import { dataRecord, errorCountsMap } from "./data-record.js";

/** A time as a driver hands it back: a `Date` (pg) or milliseconds since the epoch (SQLite). */
export type StoredTime = Date | number | string;

/** A BIGINT as a driver hands it back: a number (better-sqlite3, int4) or a string (pg int8). */
export type StoredInteger = number | string | bigint;

/** Decodes a JSON column: SQLite hands back its text, pg hands back `jsonb` already parsed. */
export type JsonColumn = (value: unknown) => unknown;

export const jsonText: JsonColumn = (value) => (typeof value === "string" ? JSON.parse(value) : value);
export const jsonParsed: JsonColumn = (value) => value;

/** A `broadcasts` row, column names as in both schemas. */
export interface BroadcastRow {
  readonly id: StoredInteger;
  readonly status: string;
  readonly message: string;
  readonly parse_mode: string | null;
  readonly created_by: unknown;
  readonly error_threshold: number | null;
  readonly recipient_count: StoredInteger;
  readonly sent_count: StoredInteger;
  readonly failed_count: StoredInteger;
  readonly error_counts: unknown;
  readonly error_log: unknown;
  readonly pause_reason: unknown;
  readonly created_at: StoredTime;
  readonly scheduled_at: StoredTime | null;
  readonly sent_at: StoredTime | null;
  readonly completed_at: StoredTime | null;
  readonly version: StoredInteger;
}

/** A `broadcast_recipients` row, column names as in both schemas. */
export interface RecipientRow {
  readonly broadcast_id: StoredInteger;
  readonly seq: StoredInteger;
  readonly recipient_id: string;
  readonly chat_id: StoredInteger | null;
  readonly chat_username: string | null;
  readonly variables: string | null;
  readonly state: string;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly last_error_kind: string | null;
  readonly next_attempt_at: StoredTime | null;
  readonly message_id: string | null;
  /** Only on the rows a PostgreSQL claim returns. */
  readonly lease_taken_over?: boolean;
}

export function toDate(value: StoredTime): Date {
  return value instanceof Date ? value : new Date(typeof value === "string" ? value : value);
}

const toDateOrNull = (value: StoredTime | null): Date | null => (value === null ? null : toDate(value));

/** The seed's `error_log` entry shape: `{recipient_id, error, timestamp}` with an ISO timestamp. */
export interface StoredErrorLogEntry {
  readonly recipient_id: number | string;
  readonly error: string;
  readonly timestamp: string | number;
}

export function toStoredLogEntry(entry: ErrorLogEntry): StoredErrorLogEntry {
  return { recipient_id: entry.recipientId, error: entry.error, timestamp: entry.timestamp.toISOString() };
}

function toErrorLog(value: unknown): ErrorLogEntry[] {
  if (!Array.isArray(value)) return [];
  return (value as StoredErrorLogEntry[]).map((e) => ({
    recipientId: e.recipient_id,
    error: String(e.error),
    timestamp: new Date(e.timestamp),
  }));
}

export function toBroadcast(row: BroadcastRow, json: JsonColumn): Broadcast {
  const parseMode = row.parse_mode as ParseMode | null;
  return {
    id: Number(row.id),
    status: row.status as BroadcastStatus,
    message: parseMode === null ? { text: row.message } : { text: row.message, parseMode },
    createdBy: decodeCreatedBy(json(row.created_by)),
    errorThreshold: row.error_threshold === null ? null : Number(row.error_threshold),
    totalRecipients: Number(row.recipient_count),
    sentCount: Number(row.sent_count),
    failedCount: Number(row.failed_count),
    errorCounts: dataRecord(errorCountsMap(json(row.error_counts))),
    errorLog: toErrorLog(json(row.error_log)),
    pauseReason: decodePauseReason(json(row.pause_reason)),
    createdAt: toDate(row.created_at),
    scheduledAt: toDateOrNull(row.scheduled_at),
    sentAt: toDateOrNull(row.sent_at),
    completedAt: toDateOrNull(row.completed_at),
    version: Number(row.version),
  };
}

export function toRecipient(row: RecipientRow): Recipient {
  return {
    broadcastId: Number(row.broadcast_id),
    recipientId: decodeRecipientId(row.recipient_id),
    chatId: joinChatId(row.chat_id, row.chat_username),
    variables: parseVariables(row.variables),
    state: row.state as RecipientState,
    attempts: Number(row.attempts),
    lastError: row.last_error,
    lastErrorKind: row.last_error_kind as FailureKind | null,
    nextAttemptAt: toDateOrNull(row.next_attempt_at),
    messageId: decodeMessageId(row.message_id),
  };
}

export function toClaimedRecipient(row: RecipientRow, takenOver: boolean): ClaimedRecipient {
  return { ...toRecipient(row), takenOver };
}
