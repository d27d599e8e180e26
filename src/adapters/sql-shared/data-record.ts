/**
 * An object keyed by data (error texts, variable names) without a prototype: a key such as
 * `constructor` or `__proto__` is then an own property like any other, never an inherited function
 * nor the prototype itself. JSON.stringify writes it as any object.
 */
export function dataRecord<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const record = Object.create(null) as Record<string, V>;
  for (const [key, value] of entries) record[key] = value;
  return record;
}

/** Per-error counts as stored (a JSON object), own entries only. */
export function errorCountsMap(counts: unknown): Map<string, number> {
  const map = new Map<string, number>();
  if (counts === null || typeof counts !== "object") return map;
  for (const [text, count] of Object.entries(counts)) {
    const n = Number(count);
    if (n !== 0) map.set(text, n);
  }
  return map;
}

/** The JSON a count map is stored as. */
export const errorCountsJson = (counts: ReadonlyMap<string, number>): string =>
  JSON.stringify(dataRecord(counts));
