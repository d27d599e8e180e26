import type { RecipientOutcome } from "../../core/outcome.js";

/** What one run recorded, by outcome. */
export interface RunTally {
  delivered: number;
  failed: number;
  retrying: number;
  released: number;
}

export const emptyTally = (): RunTally => ({ delivered: 0, failed: 0, retrying: 0, released: 0 });

export function tallyOutcomes(tally: RunTally, outcomes: readonly RecipientOutcome[]): void {
  for (const outcome of outcomes) {
    if (outcome.type === "delivered") tally.delivered++;
    else if (outcome.type === "failed") tally.failed++;
    else if (outcome.type === "retry") tally.retrying++;
    else tally.released++;
  }
}

/**
 * Pauses only when this write carried the failed count across the threshold, so a broadcast an
 * admin resumed above its threshold goes on (until a retry lowers the count and it crosses again).
 */
export function crossedThreshold(
  threshold: number | null,
  failedAfter: number,
  newlyFailed: number,
): boolean {
  if (threshold === null || newlyFailed === 0) return false;
  return failedAfter >= threshold && failedAfter - newlyFailed < threshold;
}
