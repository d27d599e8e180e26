import { err, ok, type Result } from "neverthrow";
import type { ValidationIssue } from "../core/errors.js";
import { newRecipientSchema, toValidationIssues } from "../core/schemas.js";
import {
  MAX_MESSAGE_LENGTH,
  parseTemplate,
  renderParsedTemplate,
  requiredVariables,
} from "../core/template.js";
import type { BroadcastMessage, ChatId, NewRecipient, RecipientId } from "../core/types.js";

/**
 * Checks recipients one at a time, so that a list streamed from the host is validated without
 * being held in memory: each recipient's own fields, its id's uniqueness, and the message as
 * rendered for it, and that no chat is given twice (it would get the message twice). What only the
 * whole list can show (a variable nobody supplies) comes at `finish`.
 */
export interface RecipientChecker {
  check(input: unknown): Result<NewRecipient, ValidationIssue[]>;
  finish(): ValidationIssue[];
}

/**
 * The common recipient, `{ recipientId, chatId }` with an integer chat id, recognised without a
 * parse: create streams a million of them. Accepts only what `newRecipientSchema` accepts; anything
 * else (strings chat ids, variables, mistakes) goes through the schema, which also names the issues.
 */
export function plainRecipient(input: unknown): NewRecipient | null {
  if (typeof input !== "object" || input === null || Object.getPrototypeOf(input) !== Object.prototype)
    return null;
  let keys = 0;
  for (const key in input) {
    if (key !== "recipientId" && key !== "chatId") return null;
    keys++;
  }
  if (keys !== 2) return null;
  const { recipientId, chatId } = input as { recipientId: unknown; chatId: unknown };
  const idOk =
    typeof recipientId === "number"
      ? Number.isSafeInteger(recipientId) && recipientId >= 0
      : typeof recipientId === "string" && recipientId.length > 0 && recipientId.length <= 255;
  return idOk && typeof chatId === "number" && Number.isSafeInteger(chatId) ? (input as NewRecipient) : null;
}

const CANONICAL_INTEGER = /^(?:0|[1-9][0-9]{0,15})$/;

/** 1 and "1" are one id: a store may keep ids in a text column. */
function idKey(id: RecipientId): number | string {
  const numeric = typeof id === "number" ? id : CANONICAL_INTEGER.test(id) ? Number(id) : Number.NaN;
  return Number.isSafeInteger(numeric) ? numeric : id;
}

/** Telegram usernames ignore case: `@News_Channel` and `@news_channel` are one chat. */
const chatKey = (chatId: ChatId): number | string =>
  typeof chatId === "number" ? chatId : chatId.toLowerCase();

/** A run holds at most this many consecutive keys (its length is a 16-bit number). */
const MAX_RUN_LENGTH = 0xffff;

/**
 * Where each key was first seen, for the duplicate checks, in little memory for the lists hosts
 * usually stream. While the keys are integers in ascending order they are proof enough of
 * uniqueness, and are kept as runs of consecutive keys (a start and a length: 1, 2, …, 1,000,000
 * is a handful of runs; ascending keys with gaps cost 10 bytes each). The first key out of order
 * freezes the runs, searched by bisection from then on, and every later key goes into a `Map`.
 */
class FirstSeen {
  private starts: Float64Array<ArrayBuffer> = new Float64Array(256);
  private lengths: Uint16Array<ArrayBuffer> = new Uint16Array(256);
  /** Where each run's first key was seen; `null` while that is the keys counted before it (no recipient skipped). */
  private runPositions: Float64Array<ArrayBuffer> | null = null;
  private runs = 0;
  /** The position right after the last key added. */
  private nextPosition = 0;
  private later: Map<number | string, number> | null = null;

  /** Records `key` as seen at `position`, or answers where it was seen first. */
  firstPosition(key: number | string, position: number): number | undefined {
    if (this.later === null) {
      if (typeof key === "number" && (this.runs === 0 || key > this.lastKey())) {
        this.append(key, position);
        return undefined;
      }
      this.later = new Map();
    }
    const earlier = this.positionInRuns(key) ?? this.later.get(key);
    if (earlier === undefined) this.later.set(key, position);
    return earlier;
  }

  private lastKey(): number {
    const last = this.runs - 1;
    return (this.starts[last] ?? 0) + (this.lengths[last] ?? 0) - 1;
  }

  private append(key: number, position: number): void {
    const last = this.runs - 1;
    const length = this.lengths[last] ?? 0;
    if (
      this.runs > 0 &&
      key === this.lastKey() + 1 &&
      position === this.nextPosition &&
      length < MAX_RUN_LENGTH
    ) {
      this.lengths[last] = length + 1;
    } else {
      if (this.runs === this.starts.length) this.grow();
      if (this.runPositions === null && position !== this.nextPosition) this.positionsFromCounts();
      this.starts[this.runs] = key;
      this.lengths[this.runs] = 1;
      if (this.runPositions !== null) this.runPositions[this.runs] = position;
      this.runs++;
    }
    this.nextPosition = position + 1;
  }

  private positionInRuns(key: number | string): number | undefined {
    if (typeof key !== "number") return undefined;
    // The last run starting at or before `key`.
    let low = 0;
    let high = this.runs;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((this.starts[mid] ?? 0) <= key) low = mid + 1;
      else high = mid;
    }
    const run = low - 1;
    if (run < 0) return undefined;
    const offset = key - (this.starts[run] ?? 0);
    if (offset >= (this.lengths[run] ?? 0)) return undefined;
    return this.runStart(run) + offset;
  }

  /** Only asked on a duplicate, so counting is cheap enough. */
  private runStart(run: number): number {
    if (this.runPositions !== null) return this.runPositions[run] ?? 0;
    let position = 0;
    for (let i = 0; i < run; i++) position += this.lengths[i] ?? 0;
    return position;
  }

  private positionsFromCounts(): void {
    const positions = new Float64Array(this.starts.length);
    let position = 0;
    for (let i = 0; i < this.runs; i++) {
      positions[i] = position;
      position += this.lengths[i] ?? 0;
    }
    this.runPositions = positions;
  }

  private grow(): void {
    const size = this.starts.length * 2;
    this.starts = copyInto(new Float64Array(size), this.starts);
    this.lengths = copyInto(new Uint16Array(size), this.lengths);
    if (this.runPositions !== null) this.runPositions = copyInto(new Float64Array(size), this.runPositions);
  }
}

function copyInto<T extends Float64Array<ArrayBuffer> | Uint16Array<ArrayBuffer>>(target: T, source: T): T {
  target.set(source);
  return target;
}

export function recipientChecker(message: BroadcastMessage): RecipientChecker {
  // Parsed once: each recipient then costs a render, linear in what it writes.
  const template = parseTemplate(message.text);
  const unsupplied = requiredVariables(template);
  const templated = template.placeholders.length > 0;
  const seenIds = new FirstSeen();
  const seenChats = new FirstSeen();
  let index = 0;

  const renderingIssues = (recipient: NewRecipient, path: string): ValidationIssue[] => {
    if (!templated) return [];
    const rendered = renderParsedTemplate(template, recipient.variables, message.parseMode);
    if (rendered.length > MAX_MESSAGE_LENGTH) {
      const tooLong = `the message is ${rendered.length} characters for this recipient; at most ${MAX_MESSAGE_LENGTH}`;
      return [{ path, message: tooLong }];
    }
    if (rendered.trim().length === 0) return [{ path, message: "the message is empty for this recipient" }];
    return [];
  };

  return {
    check(input) {
      const at = index++;
      let recipient = plainRecipient(input);
      if (recipient === null) {
        const parsed = newRecipientSchema.safeParse(input);
        if (!parsed.success) return err(toValidationIssues(parsed.error, ["recipients", at]));
        recipient = parsed.data;
      }
      const issues: ValidationIssue[] = [];
      if (seenIds.firstPosition(idKey(recipient.recipientId), at) !== undefined) {
        const message = `duplicate recipientId ${recipient.recipientId}`;
        issues.push({ path: `recipients.${at}.recipientId`, message });
      }
      // The same chat under two ids would get the message twice.
      const sameChat = seenChats.firstPosition(chatKey(recipient.chatId), at);
      if (sameChat !== undefined) {
        issues.push({ path: `recipients.${at}.chatId`, message: `duplicate of recipients.${sameChat}` });
      }
      if (unsupplied.size > 0 && recipient.variables !== undefined) {
        for (const name of unsupplied) if (Object.hasOwn(recipient.variables, name)) unsupplied.delete(name);
      }
      issues.push(...renderingIssues(recipient, `recipients.${at}`));
      return issues.length === 0 ? ok(recipient) : err(issues);
    },
    finish() {
      // An empty list renders nothing, so no placeholder can be missing from it.
      if (index === 0) return [];
      return [...unsupplied].map((name) => ({
        path: "message.text",
        message: `no recipient supplies {{${name}}}; give it in their variables or a default ({{${name}|…}})`,
      }));
    },
  };
}
