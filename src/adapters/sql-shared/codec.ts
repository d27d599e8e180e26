import type { ChatId, PauseReason, RecipientId, TemplateVariables } from "../../core/types.js";

/**
 * Recipient and message ids may be numbers or strings, and `1` and `"1"` are different ids. Both
 * stores keep such a value in one text column holding its JSON encoding (`1` is `1`, `"1"` is
 * `"1"`), so one unique index tells them apart and the type comes back exactly as given.
 */
export function encodeId(id: number | string): string {
  return typeof id === "number" ? String(id) : JSON.stringify(id);
}

export function decodeId(text: string): number | string {
  return text.charCodeAt(0) === 34 /* " */ ? (JSON.parse(text) as string) : Number(text);
}

export const decodeRecipientId = (text: string): RecipientId => decodeId(text);

export function encodeMessageId(id: number | string | null): string | null {
  return id === null ? null : encodeId(id);
}

export function decodeMessageId(text: string | null): number | string | null {
  return text === null ? null : decodeId(text);
}

/** A chat is a numeric id (a BIGINT column) or a `@channel` name (a text column); exactly one is set. */
export interface ChatColumns {
  readonly chatId: number | null;
  readonly chatUsername: string | null;
}

export function splitChatId(chatId: ChatId): ChatColumns {
  return typeof chatId === "number" ? { chatId, chatUsername: null } : { chatId: null, chatUsername: chatId };
}

/** Drivers hand BIGINT back as a string (pg) or a number (better-sqlite3); ids fit in 53 bits. */
export function joinChatId(chatId: number | string | bigint | null, chatUsername: string | null): ChatId {
  if (chatId !== null) return Number(chatId);
  if (chatUsername !== null) return chatUsername;
  throw new TypeError("stored recipient has neither a chat id nor a chat username");
}

/** `createdBy` is a host user id or name: kept as JSON so 42 and "42" stay apart. */
export function encodeJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function parseJsonText<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/**
 * A recipient's stored variables, as an object without a prototype: their names are the host's
 * data, and a name such as `constructor` must read back as the value given, never as an inherited
 * function. JSON.parse already keeps `__proto__` as an own key.
 */
export function parseVariables(text: string | null): TemplateVariables | null {
  if (text === null) return null;
  return Object.assign(Object.create(null) as Record<string, string | number | boolean>, JSON.parse(text));
}

export function decodeCreatedBy(value: unknown): string | number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "string") return value;
  throw new TypeError(`stored created_by is neither a number nor a string: ${typeof value}`);
}

export function decodePauseReason(value: unknown): PauseReason | null {
  if (value === null || value === undefined) return null;
  return value as PauseReason;
}
