import { err, errAsync, ok, type ResultAsync } from "neverthrow";
import {
  type BroadcastError,
  invalidTransition,
  notFound,
  type ValidationIssue,
  validationError,
} from "../core/errors.js";
import type { Broadcast, BroadcastStatus, RecipientId } from "../core/types.js";
import { loadBroadcast } from "./broadcast-reads.js";
import {
  checkRecipients,
  NOT_A_RECIPIENT_LIST,
  type RecipientInput,
  recipientInput,
  storeRecipients,
} from "./checked-recipients.js";
import { recipientChecker } from "./recipient-checker.js";
import type { ServiceDeps } from "./service-deps.js";

/**
 * Only a draft takes more recipients. Refused as a transition it cannot make: from its status,
 * back to the draft it would have to be.
 */
const notADraft = (id: number, status: BroadcastStatus): BroadcastError =>
  invalidTransition(id, status, "draft");

/**
 * The store's duplicates as issues: at the index of the recipient that carried the id when the
 * input was an array, on `recipients` as a whole for a stream (it cannot be read twice).
 */
function duplicateIssues(input: RecipientInput, duplicates: readonly RecipientId[]): ValidationIssue[] {
  const message = (id: RecipientId) => `duplicate recipientId ${id}: already in the broadcast`;
  if (!Array.isArray(input)) return duplicates.map((id) => ({ path: "recipients", message: message(id) }));
  const wanted = new Set<RecipientId>(duplicates);
  const issues: ValidationIssue[] = [];
  (input as readonly unknown[]).forEach((recipient, index) => {
    const id = (recipient as { recipientId?: RecipientId }).recipientId;
    if (id === undefined || !wanted.delete(id)) return;
    issues.push({ path: `recipients.${index}.recipientId`, message: message(id) });
  });
  return issues;
}

/**
 * Adds recipients to a draft, validated as creation validates them (fields, chat ids, duplicate
 * ids within the call, the message rendered for each, a placeholder nobody in the call supplies),
 * all or nothing. The store refuses ids already in the broadcast.
 */
export function addRecipients(
  deps: ServiceDeps,
  id: number,
  input: unknown,
): ResultAsync<Broadcast, BroadcastError> {
  const source = recipientInput(input);
  if (source === null) return errAsync(validationError([NOT_A_RECIPIENT_LIST]));
  return loadBroadcast(deps, id).andThen((broadcast) => {
    if (broadcast.status !== "draft") return errAsync(notADraft(id, broadcast.status));
    return checkRecipients(source, recipientChecker(broadcast.message))
      .andThen((checked) =>
        storeRecipients(deps, "appendRecipients", checked, () =>
          deps.store.appendRecipients(id, checked.recipients),
        ),
      )
      .andThen((answer) => {
        switch (answer.type) {
          case "appended":
            deps.logger.info(
              { broadcastId: id, totalRecipients: answer.broadcast.totalRecipients },
              "recipients added",
            );
            return ok(answer.broadcast);
          case "duplicate":
            return err(validationError(duplicateIssues(source, answer.recipientIds)));
          case "status_changed":
            return err(notADraft(id, answer.actual));
          case "not_found":
            return err(notFound(id));
        }
      });
  });
}
