import type { BroadcastPatch } from "../../core/transitions.js";

/** One column a compare-and-set update writes, with its value still in JS terms. */
export type PatchColumn =
  | { readonly column: "status"; readonly value: string }
  | { readonly column: "scheduled_at" | "sent_at" | "completed_at"; readonly value: Date | null }
  | { readonly column: "pause_reason"; readonly value: string | null }
  | { readonly column: "sent_count" | "failed_count"; readonly value: number };

/** The columns a patch sets, in a fixed order, so equal shapes share one prepared statement. */
export function patchColumns(patch: BroadcastPatch): PatchColumn[] {
  const columns: PatchColumn[] = [];
  if (patch.status !== undefined) columns.push({ column: "status", value: patch.status });
  if (patch.scheduledAt !== undefined) columns.push({ column: "scheduled_at", value: patch.scheduledAt });
  if (patch.sentAt !== undefined) columns.push({ column: "sent_at", value: patch.sentAt });
  if (patch.completedAt !== undefined) columns.push({ column: "completed_at", value: patch.completedAt });
  if (patch.pauseReason !== undefined) {
    columns.push({
      column: "pause_reason",
      value: patch.pauseReason === null ? null : JSON.stringify(patch.pauseReason),
    });
  }
  if (patch.sentCount !== undefined) columns.push({ column: "sent_count", value: patch.sentCount });
  if (patch.failedCount !== undefined) columns.push({ column: "failed_count", value: patch.failedCount });
  return columns;
}

/** A cache key for the statement that writes these columns. */
export const patchShape = (columns: readonly PatchColumn[]): string => columns.map((c) => c.column).join(",");
