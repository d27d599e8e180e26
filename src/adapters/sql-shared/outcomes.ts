import type { RecipientOutcome } from "../../core/outcome.js";
import { encodeId } from "./codec.js";
import { errorCountsMap } from "./data-record.js";
import type { StoredErrorLogEntry } from "./rows.js";

/** What one recorded batch does to the broadcast row, derived from its outcomes alone. */
export interface BatchEffect {
  /** Each outcome's recipient id, encoded as stored, in the batch's order. */
  readonly keys: readonly string[];
  readonly sentDelta: number;
  readonly failedDelta: number;
  /** Newly failed recipients per error text (a `Map`: error texts are data, `__proto__` included). */
  readonly errorCountDelta: ReadonlyMap<string, number>;
  /** One entry per newly failed recipient, oldest first. */
  readonly logEntries: readonly StoredErrorLogEntry[];
}

/** A NUL, or a surrogate without its other half: text PostgreSQL refuses and SQLite would alter. */
const ILL_FORMED = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Errors reach the store normalised (`decideOutcome` passes them through `normalizeDescription`).
 * One that is not, from a caller that skipped the core, is refused before anything is written,
 * with a message that says so, rather than failing deep in a driver with the batch half explained.
 */
function checkErrorText(outcome: RecipientOutcome): void {
  if ((outcome.type === "failed" || outcome.type === "retry") && ILL_FORMED.test(outcome.error)) {
    throw new TypeError(
      `recordOutcomes: the error of recipient ${String(outcome.recipientId)} holds a NUL or a lone surrogate; pass it through normalizeDescription`,
    );
  }
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
  const errorCountDelta = new Map<string, number>();
  const logEntries: StoredErrorLogEntry[] = [];
  let timestamp: string | null = null;
  for (const outcome of outcomes) {
    const key = encodeId(outcome.recipientId);
    if (seen.has(key)) throw new TypeError("recordOutcomes: a recipient appears twice in one batch");
    seen.add(key);
    keys.push(key);
    checkErrorText(outcome);
    if (outcome.type === "delivered") sentDelta += 1;
    if (outcome.type === "failed") {
      failedDelta += 1;
      errorCountDelta.set(outcome.error, (errorCountDelta.get(outcome.error) ?? 0) + 1);
      timestamp ??= now.toISOString();
      logEntries.push({ recipient_id: outcome.recipientId, error: outcome.error, timestamp });
    }
  }
  return { keys, sentDelta, failedDelta, errorCountDelta, logEntries };
}

/** Adds `delta` to `counts` (a stored JSON object); an error whose count falls to zero disappears. */
export function mergeErrorCounts(counts: unknown, delta: ReadonlyMap<string, number>): Map<string, number> {
  const merged = errorCountsMap(counts);
  for (const [text, change] of delta) {
    const count = (merged.get(text) ?? 0) + change;
    if (count > 0) merged.set(text, count);
    else merged.delete(text);
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
