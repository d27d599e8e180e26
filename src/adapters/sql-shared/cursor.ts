import { InvalidCursorError } from "../../core/errors.js";

/**
 * Page cursors are opaque to callers; inside they are a tag and a position (a broadcast id, or a
 * recipient's insertion position). The tag keeps a broadcast cursor from being read as a recipient
 * cursor. A cursor that does not decode is the caller's mistake: it throws `InvalidCursorError`
 * (the service reports a `validation` error) rather than silently restarting the list.
 */
export function encodeCursor(tag: "b" | "r" | "w", position: number): string {
  return `${tag}${position.toString(36)}`;
}

export function decodeCursor(cursor: string, tag: "b" | "r" | "w"): number {
  const position = cursor.startsWith(tag) ? Number.parseInt(cursor.slice(tag.length), 36) : Number.NaN;
  if (!Number.isSafeInteger(position) || position < 0 || encodeCursor(tag, position) !== cursor) {
    throw new InvalidCursorError(cursor);
  }
  return position;
}
