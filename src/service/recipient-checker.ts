import { err, ok, type Result } from "neverthrow";
import type { ValidationIssue } from "../core/errors.js";
import { newRecipientSchema, toValidationIssues } from "../core/schemas.js";
import { MAX_MESSAGE_LENGTH, placeholdersOf, renderTemplate, requiredVariables } from "../core/template.js";
import type { BroadcastMessage, NewRecipient } from "../core/types.js";

/**
 * Checks recipients one at a time, so that a list streamed from the host is validated without
 * being held in memory: each recipient's own fields, its id's uniqueness, and the message as
 * rendered for it. What only the whole list can show (a variable nobody supplies) comes at `finish`.
 */
export interface RecipientChecker {
  check(input: unknown): Result<NewRecipient, ValidationIssue[]>;
  finish(): ValidationIssue[];
}

export function recipientChecker(message: BroadcastMessage): RecipientChecker {
  const unsupplied = requiredVariables(message.text);
  const templated = placeholdersOf(message.text).length > 0;
  // 1 and "1" are kept apart by no store column type we know of: treat them as one id.
  const seenIds = new Set<string>();
  let index = 0;

  const renderingIssues = (recipient: NewRecipient, path: string): ValidationIssue[] => {
    if (!templated) return [];
    const rendered = renderTemplate(message.text, recipient.variables, message.parseMode);
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
      const parsed = newRecipientSchema.safeParse(input);
      if (!parsed.success) return err(toValidationIssues(parsed.error, ["recipients", at]));
      const recipient: NewRecipient = parsed.data;
      const issues: ValidationIssue[] = [];
      const key = String(recipient.recipientId);
      if (seenIds.has(key)) {
        issues.push({ path: `recipients.${at}.recipientId`, message: `duplicate recipientId ${key}` });
      }
      seenIds.add(key);
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
