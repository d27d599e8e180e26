import type { BroadcastPatch } from "../../core/transitions.js";
import type {
  Broadcast,
  BroadcastMessage,
  BroadcastStatus,
  PauseReason,
  RecipientId,
} from "../../core/types.js";
import type { NewBroadcast } from "../../ports/store.js";
import type { RecipientTable } from "./recipient-table.js";

interface LoggedError {
  readonly recipientId: RecipientId;
  readonly error: string;
  readonly at: number;
}

/**
 * The newest failures, bounded. Entries are trimmed in bulk once the log holds twice the limit, so
 * appending stays O(1) amortised however many recipients fail.
 */
export class ErrorLog {
  private entries: LoggedError[] = [];
  private limit = Number.POSITIVE_INFINITY;

  /** Each write says how many entries to keep; the newest write's limit applies. */
  setLimit(limit: number): void {
    this.limit = Math.max(0, Math.floor(limit));
    if (this.limit === 0) this.entries = [];
  }

  append(recipientId: RecipientId, error: string, at: number): void {
    if (this.limit === 0) return;
    this.entries.push({ recipientId, error, at });
    if (this.entries.length > 2 * this.limit + 64) this.entries = this.entries.slice(-this.limit);
  }

  read(): Broadcast["errorLog"] {
    const kept = this.entries.length > this.limit ? this.entries.slice(-this.limit) : this.entries;
    return kept.map((e) => ({ recipientId: e.recipientId, error: e.error, timestamp: new Date(e.at) }));
  }
}

/** A lease: the recipients one claim holds, under one epoch, until one expiry. */
export interface Lease {
  readonly epoch: number;
  readonly owner: string;
  /** Moved forward while the claim's worker renews it. */
  expiresAt: number;
  readonly indices: number[];
  readonly byRecipientId: Map<RecipientId, number>;
  /** How many of `indices` this lease still holds (not recorded, not taken over). */
  held: number;
}

/** One stored broadcast: its fields, its recipients and the bookkeeping claims need. */
export interface BroadcastRecord {
  readonly id: number;
  status: BroadcastStatus;
  readonly message: BroadcastMessage;
  readonly createdBy: string | number | null;
  readonly errorThreshold: number | null;
  sentCount: number;
  failedCount: number;
  readonly errorCounts: Map<string, number>;
  readonly errorLog: ErrorLog;
  pauseReason: PauseReason | null;
  readonly createdAt: number;
  scheduledAt: number | null;
  sentAt: number | null;
  completedAt: number | null;
  version: number;
  readonly recipients: RecipientTable;
  /** Failed recipients as the table holds them (not the counter, which `updateProgress` may set). */
  failedRecipients: number;
  failedPermanent: number;
  lastEpoch: number;
  readonly leases: Map<number, Lease>;
}

const time = (date: Date | null): number | null => (date === null ? null : date.getTime());
const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

const copyMessage = (m: BroadcastMessage): BroadcastMessage =>
  m.parseMode === undefined ? { text: m.text } : { text: m.text, parseMode: m.parseMode };

const copyPauseReason = (r: PauseReason | null): PauseReason | null => (r === null ? null : { ...r });

export function newRecord(id: number, input: NewBroadcast, recipients: RecipientTable): BroadcastRecord {
  return {
    id,
    status: input.status,
    message: copyMessage(input.message),
    createdBy: input.createdBy,
    errorThreshold: input.errorThreshold,
    sentCount: 0,
    failedCount: 0,
    errorCounts: new Map(),
    errorLog: new ErrorLog(),
    pauseReason: null,
    createdAt: input.createdAt.getTime(),
    scheduledAt: time(input.scheduledAt),
    sentAt: null,
    completedAt: null,
    version: 1,
    recipients,
    failedRecipients: 0,
    failedPermanent: 0,
    lastEpoch: 0,
    leases: new Map(),
  };
}

/** Keyed by error text, which is data: no prototype, so `constructor` is a count like any other. */
function countsRecord(counts: ReadonlyMap<string, number>): Record<string, number> {
  const record = Object.create(null) as Record<string, number>;
  for (const [text, count] of counts) record[text] = count;
  return record;
}

/** A fresh copy: callers may do what they like with it without touching the store. */
export function readRecord(r: BroadcastRecord): Broadcast {
  return {
    id: r.id,
    status: r.status,
    message: copyMessage(r.message),
    createdBy: r.createdBy,
    errorThreshold: r.errorThreshold,
    totalRecipients: r.recipients.size,
    sentCount: r.sentCount,
    failedCount: r.failedCount,
    errorCounts: countsRecord(r.errorCounts),
    errorLog: r.errorLog.read(),
    pauseReason: copyPauseReason(r.pauseReason),
    createdAt: new Date(r.createdAt),
    scheduledAt: date(r.scheduledAt),
    sentAt: date(r.sentAt),
    completedAt: date(r.completedAt),
    version: r.version,
  };
}

export function applyPatch(r: BroadcastRecord, patch: BroadcastPatch): void {
  if (patch.status !== undefined) r.status = patch.status;
  if (patch.scheduledAt !== undefined) r.scheduledAt = time(patch.scheduledAt);
  if (patch.sentAt !== undefined) r.sentAt = time(patch.sentAt);
  if (patch.completedAt !== undefined) r.completedAt = time(patch.completedAt);
  if (patch.pauseReason !== undefined) r.pauseReason = copyPauseReason(patch.pauseReason);
  if (patch.sentCount !== undefined) r.sentCount = patch.sentCount;
  if (patch.failedCount !== undefined) r.failedCount = patch.failedCount;
}

export function countError(r: BroadcastRecord, error: string, delta: number): void {
  const count = (r.errorCounts.get(error) ?? 0) + delta;
  if (count > 0) r.errorCounts.set(error, count);
  else r.errorCounts.delete(error);
}
