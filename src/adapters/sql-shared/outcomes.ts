import type { RecipientOutcome } from "../../core/outcome.js";
import { encodeId } from "./codec.js";
import type { StoredErrorLogEntry } from "./rows.js";

/** What one recorded batch does to the broadcast row, derived from its outcomes alone. */
export interface BatchEffect {
  /** Each outcome's recipient id, encoded as stored, in the batch's order. */
  readonly keys: readonly string[];
  readonly sentDelta: number;
  readonly failedDelta: number;
  /** Newly failed recipients per error text. */
  readonly errorCountDelta: Readonly<Record<string, number>>;
  /** One entry per newly failed recipient, oldest first. */
  readonly logEntries: readonly StoredErrorLogEntry[];
}

/**
 * The counters a batch moves. Every outcome's recipient was pending under the batch's lease (the
 * store checks that before applying it), so `delivered` and `failed` each move one recipient out
 * of pending and nothing else changes a counter.
 */
export function batchEffect(outcomes: readonly RecipientOutcome[], now: Date): BatchEffect {
  const keys: string[] = [];
  const seen = new Set<string>();
  let sentDelta = 0;
  let failedDelta = 0;
  const errorCountDelta: Record<string, number> = {};
  const logEntries: StoredErrorLogEntry[] = [];
  let timestamp: string | null = null;
  for (const outcome of outcomes) {
    const key = encodeId(outcome.recipientId);
    if (seen.has(key)) throw new TypeError("recordOutcomes: a recipient appears twice in one batch");
    seen.add(key);
    keys.push(key);
    if (outcome.type === "delivered") sentDelta += 1;
    if (outcome.type === "failed") {
      failedDelta += 1;
      errorCountDelta[outcome.error] = (errorCountDelta[outcome.error] ?? 0) + 1;
      timestamp ??= now.toISOString();
      logEntries.push({ recipient_id: outcome.recipientId, error: outcome.error, timestamp });
    }
  }
  return { keys, sentDelta, failedDelta, errorCountDelta, logEntries };
}

/** Adds `delta` to `counts`; an error whose count falls to zero disappears. */
export function mergeErrorCounts(
  counts: Readonly<Record<string, number>>,
  delta: Readonly<Record<string, number>>,
): Record<string, number> {
  const merged: Record<string, number> = { ...counts };
  for (const [text, change] of Object.entries(delta)) {
    const count = (merged[text] ?? 0) + change;
    if (count > 0) merged[text] = count;
    else delete merged[text];
  }
  return merged;
}

/** The newest `limit` entries of `log` followed by `added`, newest last. */
export function appendToErrorLog(
  log: readonly StoredErrorLogEntry[],
  added: readonly StoredErrorLogEntry[],
  limit: number,
): StoredErrorLogEntry[] {
  if (limit <= 0) return [];
  if (added.length >= limit) return added.slice(added.length - limit);
  const keptOld = limit - added.length;
  return [...(log.length > keptOld ? log.slice(log.length - keptOld) : log), ...added];
}

/** The request says how many entries to keep; a store may cap it further (its `errorLogLimit` option). */
export function effectiveLogLimit(requested: number, cap: number | undefined): number {
  const limit = Math.max(0, Math.floor(requested));
  return cap === undefined ? limit : Math.min(limit, Math.max(0, Math.floor(cap)));
}
