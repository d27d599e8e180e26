import { err, errAsync, ok, type Result, type ResultAsync } from "neverthrow";
import { type BroadcastError, type ValidationIssue, validationError } from "../core/errors.js";
import { createBroadcastSchema, toValidationIssues } from "../core/schemas.js";
import type { Broadcast, BroadcastMessage } from "../core/types.js";
import type { NewBroadcast } from "../ports/store.js";
import {
  checkRecipients,
  NOT_A_RECIPIENT_LIST,
  recipientInput,
  storeRecipients,
} from "./checked-recipients.js";
import { recipientChecker } from "./recipient-checker.js";
import type { ServiceDeps } from "./service-deps.js";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

/** Validates the broadcast's own fields: everything but the recipients. */
function parseHeader(input: unknown, now: Date): Result<NewBroadcast, ValidationIssue[]> {
  if (!isObject(input)) return err([{ path: "", message: "must be an object" }]);
  const { recipients: _recipients, ...header } = input;
  const parsed = createBroadcastSchema.safeParse(header);
  if (!parsed.success) return err(toValidationIssues(parsed.error));
  const { message, scheduledAt, createdBy, errorThreshold } = parsed.data;
  if (scheduledAt !== undefined && scheduledAt.getTime() <= now.getTime()) {
    return err([{ path: "scheduledAt", message: "must be in the future" }]);
  }
  const storedMessage: BroadcastMessage =
    message.parseMode === undefined
      ? { text: message.text }
      : { text: message.text, parseMode: message.parseMode };
  return ok({
    message: storedMessage,
    status: scheduledAt === undefined ? "draft" : "scheduled",
    scheduledAt: scheduledAt ?? null,
    createdBy: createdBy ?? null,
    errorThreshold: errorThreshold ?? null,
    createdAt: now,
  });
}

/**
 * Creates a broadcast with its recipients, or refuses the input and stores nothing. Recipients
 * may be an array or an (async) iterable too large to hold in memory.
 */
export function createBroadcast(deps: ServiceDeps, input: unknown): ResultAsync<Broadcast, BroadcastError> {
  const now = deps.clock.now();
  const header = parseHeader(input, now);
  const source = isObject(input) ? recipientInput(input.recipients) : null;
  if (header.isErr() || source === null) {
    const sourceIssues = source === null ? [NOT_A_RECIPIENT_LIST] : [];
    return errAsync(validationError([...(header.isErr() ? header.error : []), ...sourceIssues]));
  }
  const broadcast = header.value;
  return checkRecipients(source, recipientChecker(broadcast.message))
    .andThen((checked) =>
      storeRecipients(deps, "createBroadcast", checked, () =>
        deps.store.createBroadcast(broadcast, checked.recipients),
      ),
    )
    .map((created) => {
      deps.logger.info(
        { broadcastId: created.id, totalRecipients: created.totalRecipients, status: created.status },
        "broadcast created",
      );
      return created;
    });
}
