/** The most frequent reasons shown as bars; the error summary counts the rest. */
export const MAX_REASONS_SHOWN = 12;

/** Error texts with their counts, most frequent first, ties by text (as the error summary orders them). */
export function rankedReasons(counts: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(counts)
    .filter(([, count]) => count > 0)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_REASONS_SHOWN);
}
