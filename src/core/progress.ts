import type { Broadcast, BroadcastStatus } from "./types.js";

type Counters = Pick<Broadcast, "totalRecipients" | "sentCount" | "failedCount">;
type CountersAndStatus = Counters & Pick<Broadcast, "status">;

export interface Progress {
  readonly id: number;
  readonly status: BroadcastStatus;
  readonly totalRecipients: number;
  readonly sentCount: number;
  readonly failedCount: number;
  /** `totalRecipients - sentCount - failedCount`, always (for a cancelled broadcast: those never sent). */
  readonly pendingCount: number;
  /** Recipients that will never be sent because the broadcast was cancelled; 0 unless it was. */
  readonly cancelledCount: number;
  /** Delivered share, floored: 100 only when everyone was delivered. */
  readonly progressPct: number;
  /** Processed (delivered or failed) share, floored: 100 only when nothing is pending. */
  readonly processedPct: number;
  readonly errorSummary: string | null;
  readonly createdAt: Date;
  readonly scheduledAt: Date | null;
  readonly sentAt: Date | null;
  readonly completedAt: Date | null;
}

export const pendingCount = (b: Counters): number => b.totalRecipients - b.sentCount - b.failedCount;

/** A cancelled broadcast's pending recipients will never be sent: they read as cancelled. */
export const cancelledCount = (b: CountersAndStatus): number =>
  b.status === "cancelled" ? pendingCount(b) : 0;

const pct = (part: number, total: number): number => (total === 0 ? 0 : Math.floor((100 * part) / total));

export const progressPct = (b: Counters): number => pct(b.sentCount, b.totalRecipients);
export const processedPct = (b: Counters): number => pct(b.sentCount + b.failedCount, b.totalRecipients);

const SUMMARY_KINDS_SHOWN = 3;

/**
 * `"40 failed: Network timeout"` when one text explains every failure; otherwise the most frequent
 * texts first (ties by text, so the summary is stable), at most three, each with its count, then
 * `", +N more"`. Built from the per-error counters, never from the recipients.
 */
export function errorSummary(
  failedCount: number,
  errorCounts: Readonly<Record<string, number>>,
): string | null {
  if (failedCount <= 0) return null;
  const kinds = Object.entries(errorCounts)
    .filter(([, count]) => count > 0)
    .sort(([textA, a], [textB, b]) => b - a || (textA < textB ? -1 : textA > textB ? 1 : 0));
  const [first] = kinds;
  if (first === undefined) return `${failedCount} failed`;
  if (kinds.length === 1 && first[1] === failedCount) return `${failedCount} failed: ${first[0]}`;
  const shown = kinds
    .slice(0, SUMMARY_KINDS_SHOWN)
    .map(([text, count]) => `${text} (${count})`)
    .join(", ");
  const more = kinds.length - SUMMARY_KINDS_SHOWN;
  return `${failedCount} failed: ${shown}${more > 0 ? `, +${more} more` : ""}`;
}

export function progressOf(b: Broadcast): Progress {
  return {
    id: b.id,
    status: b.status,
    totalRecipients: b.totalRecipients,
    sentCount: b.sentCount,
    failedCount: b.failedCount,
    pendingCount: pendingCount(b),
    cancelledCount: cancelledCount(b),
    progressPct: progressPct(b),
    processedPct: processedPct(b),
    errorSummary: errorSummary(b.failedCount, b.errorCounts),
    createdAt: b.createdAt,
    scheduledAt: b.scheduledAt,
    sentAt: b.sentAt,
    completedAt: b.completedAt,
  };
}

/**
 * The status a broadcast ends in once nobody is pending: `sent` when nobody failed (including an
 * empty broadcast), `failed` when nobody was delivered, `completed` otherwise.
 */
export function finalStatus(b: Counters): "sent" | "completed" | "failed" {
  if (b.failedCount === 0) return "sent";
  if (b.sentCount === 0) return "failed";
  return "completed";
}
