import type { NewRecipient } from "../../core/types.js";
import type { RecipientSource } from "../../ports/store.js";
import { encodeId, encodeJson, splitChatId } from "./codec.js";

/** A recipient as the insert statements take it. */
export interface RecipientInsertRow {
  readonly recipientId: string;
  readonly chatId: number | null;
  readonly chatUsername: string | null;
  readonly variables: string | null;
}

export function toInsertRow(recipient: NewRecipient): RecipientInsertRow {
  const chat = splitChatId(recipient.chatId);
  return {
    recipientId: encodeId(recipient.recipientId),
    chatId: chat.chatId,
    chatUsername: chat.chatUsername,
    variables: encodeJson(recipient.variables),
  };
}

/** True when the source can only be read with `for await` (it holds no synchronous iterator). */
export function isAsyncOnly(source: RecipientSource): source is AsyncIterable<NewRecipient> {
  return !(Symbol.iterator in source);
}

/**
 * Reads a source in chunks of at most `size`: only one chunk is in memory at a time, however long
 * the source is.
 */
export async function* inChunks(source: RecipientSource, size: number): AsyncGenerator<NewRecipient[]> {
  if (Array.isArray(source)) {
    const list = source as readonly NewRecipient[];
    for (let start = 0; start < list.length; start += size) yield list.slice(start, start + size);
    return;
  }
  let chunk: NewRecipient[] = [];
  for await (const recipient of source) {
    chunk.push(recipient);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
