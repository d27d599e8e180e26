import { err, ok, type Result } from "neverthrow";
import type { ValidationIssue } from "../core/errors.js";
import { newRecipientSchema, toValidationIssues } from "../core/schemas.js";
import {
  MAX_MESSAGE_LENGTH,
  parseTemplate,
  renderParsedTemplate,
  requiredVariables,
} from "../core/template.js";
import type { BroadcastMessage, NewRecipient, RecipientId } from "../core/types.js";

/**
 * Checks recipients one at a time, so that a list streamed from the host is validated without
 * being held in memory: each recipient's own fields, its id's uniqueness, and the message as
 * rendered for it. What only the whole list can show (a variable nobody supplies) comes at `finish`.
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

/**
 * Recipient ids seen so far, for the duplicate check. Hosts usually stream recipients in id
 * order: while every id is an integer larger than the last, a typed array (8 bytes an id) is
 * proof enough of uniqueness; the first id out of order moves everything into a `Set`.
 */
class RecipientIdSet {
  private ascending = new Float64Array(1024);
  private length = 0;
  private set: Set<number | string> | null = null;

  /** Adds the id; `false` when it was already there. */
  add(id: RecipientId): boolean {
    const key = idKey(id);
    if (this.set === null) {
      if (typeof key === "number" && (this.length === 0 || key > (this.ascending[this.length - 1] ?? 0))) {
        this.append(key);
        return true;
      }
      this.set = new Set<number | string>(this.ascending.subarray(0, this.length));
      this.ascending = new Float64Array(0);
    }
    if (this.set.has(key)) return false;
    this.set.add(key);
    return true;
  }

  private append(key: number): void {
    if (this.length === this.ascending.length) {
      const grown = new Float64Array(this.ascending.length * 2);
      grown.set(this.ascending);
      this.ascending = grown;
    }
    this.ascending[this.length++] = key;
  }
}

export function recipientChecker(message: BroadcastMessage): RecipientChecker {
  // Parsed once: each recipient then costs a render, linear in what it writes.
  const template = parseTemplate(message.text);
  const unsupplied = requiredVariables(template);
  const templated = template.placeholders.length > 0;
  const seenIds = new RecipientIdSet();
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
      if (!seenIds.add(recipient.recipientId)) {
        const message = `duplicate recipientId ${recipient.recipientId}`;
        issues.push({ path: `recipients.${at}.recipientId`, message });
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
