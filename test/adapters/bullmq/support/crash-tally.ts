import { DELIVERY_UNKNOWN } from "../../../../src/core/outcome.js";
import type { DeliveryGuarantee } from "../../../../src/index.js";
import type { JournalEntry } from "./cluster.js";

/** A recipient row as the trial's last read found it. */
export interface FinalRow {
  readonly recipientId: number;
  readonly state: "pending" | "sent" | "failed";
  readonly lastError: string | null;
}

export interface TallyInput {
  readonly guarantee: DeliveryGuarantee;
  /** The broadcast's recipients: recipient id → chat id. */
  readonly chats: ReadonlyMap<number, number>;
  readonly journals: ReadonlyMap<number, readonly JournalEntry[]>;
  readonly rows: readonly FinalRow[];
  /** Journals (worker numbers) of the processes harmed: SIGKILLed, SIGSTOPped, or cut off from PostgreSQL. */
  readonly harmed: ReadonlySet<number>;
  /** When `cancel` answered (wall clock, as the journals' `A` lines), for a cancelled trial. */
  readonly cancelReturnedAt: number | null;
}

/** The Jepsen-style tally of one trial. */
export interface Tally {
  readonly total: number;
  readonly attempts: number;
  readonly sent: number;
  readonly failed: number;
  readonly pending: number;
  /** Rows failed as "delivery unknown" (at-most-once's takeovers); never sent again. */
  readonly unknown: number;
  /**
   * Recipients the broadcast let down: pending at the end of a run that was not cancelled,
   * failed for any reason but a takeover under at-most-once (the sender never fails here), or
   * recorded as sent without a single attempt reaching the sender.
   */
  readonly lost: number;
  /** Attempts to a chat that is not the recipient's (or to a recipient not in the broadcast). */
  readonly unexpected: number;
  /** Attempts beyond the first, over every recipient. */
  readonly duplicates: number;
  /** Attempts a process made but never saw stored (no `W` line after it in that process's journal). */
  readonly unrecorded: number;
  /** Of `unrecorded`, those of harmed processes: what duplicates must stay within. */
  readonly unrecordedByHarmed: number;
  /**
   * Duplicates no unrecorded attempt accounts for: a recipient attempted k times must have at
   * least k - 1 attempts whose process never saw them stored, or a stored outcome was resent.
   */
  readonly unexplained: number;
  /** Recipients whose stale write (`lease_lost`) or renewal the store refused to a process. */
  readonly refusedWrites: number;
  readonly refusedRenewals: number;
  /** Attempts journaled after `cancel` answered (0 when not cancelled). */
  readonly afterCancel: number;
}

export function computeTally(input: TallyInput): Tally {
  const attemptsOf = new Map<number, number>();
  const unrecordedOf = new Map<number, number>();
  let attempts = 0;
  let unexpected = 0;
  let afterCancel = 0;
  let unrecordedByHarmed = 0;
  let refusedWrites = 0;
  let refusedRenewals = 0;
  for (const [worker, entries] of input.journals) {
    // Per process: attempts minus the outcomes it saw stored, per recipient.
    const mine = new Map<number, number>();
    for (const entry of entries) {
      if (entry.type === "attempt") {
        attempts += 1;
        if (input.chats.get(entry.recipientId) !== entry.chatId) unexpected += 1;
        if (input.cancelReturnedAt !== null && entry.at > input.cancelReturnedAt) afterCancel += 1;
        attemptsOf.set(entry.recipientId, (attemptsOf.get(entry.recipientId) ?? 0) + 1);
        mine.set(entry.recipientId, (mine.get(entry.recipientId) ?? 0) + 1);
      } else if (entry.type === "recorded") {
        mine.set(entry.recipientId, (mine.get(entry.recipientId) ?? 0) - 1);
      } else if (entry.type === "lease_lost") {
        if (entry.at === "write") refusedWrites += 1;
        else refusedRenewals += 1;
      }
    }
    for (const [recipientId, left] of mine) {
      if (left <= 0) continue;
      unrecordedOf.set(recipientId, (unrecordedOf.get(recipientId) ?? 0) + left);
      if (input.harmed.has(worker)) unrecordedByHarmed += left;
    }
  }
  let duplicates = 0;
  let unexplained = 0;
  for (const [recipientId, count] of attemptsOf) {
    duplicates += count - 1;
    unexplained += Math.max(0, count - 1 - (unrecordedOf.get(recipientId) ?? 0));
  }
  let sent = 0;
  let failed = 0;
  let pending = 0;
  let unknown = 0;
  let lost = 0;
  for (const row of input.rows) {
    if (row.state === "sent") {
      sent += 1;
      if ((attemptsOf.get(row.recipientId) ?? 0) === 0) lost += 1;
    } else if (row.state === "failed") {
      failed += 1;
      const takenOver = input.guarantee === "at-most-once" && row.lastError === DELIVERY_UNKNOWN;
      if (takenOver) unknown += 1;
      else lost += 1;
    } else {
      pending += 1;
      if (input.cancelReturnedAt === null) lost += 1;
    }
  }
  // A recipient of the broadcast with no row at all is lost too.
  lost += Math.max(0, input.chats.size - input.rows.length);
  let unrecorded = 0;
  for (const count of unrecordedOf.values()) unrecorded += count;
  return {
    total: input.chats.size,
    attempts,
    sent,
    failed,
    pending,
    unknown,
    lost,
    unexpected,
    duplicates,
    unrecorded,
    unrecordedByHarmed,
    unexplained,
    refusedWrites,
    refusedRenewals,
    afterCancel,
  };
}
