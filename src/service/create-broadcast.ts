import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { type BroadcastError, storageError, type ValidationIssue, validationError } from "../core/errors.js";
import { createBroadcastSchema, toValidationIssues } from "../core/schemas.js";
import type { Broadcast, BroadcastMessage, NewRecipient } from "../core/types.js";
import type { NewBroadcast, RecipientSource } from "../ports/store.js";
import { RECIPIENTS_PER_TURN, yieldToEventLoop } from "./event-loop.js";
import { type RecipientChecker, recipientChecker } from "./recipient-checker.js";
import type { ServiceDeps } from "./service-deps.js";

/** Enough to fix a file of bad rows; a million refused rows would not help anyone more. */
const MAX_REPORTED_ISSUES = 100;

/**
 * Thrown from inside the validating stream to make the store abandon the insert (the store
 * promises all or nothing); never leaves this module.
 */
class RecipientsRefused extends Error {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super("recipients refused");
  }
}

type RecipientInput = Iterable<unknown> | AsyncIterable<unknown>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

function recipientInput(value: unknown): RecipientInput | null {
  if (!isObject(value)) return null;
  if (Symbol.iterator in value || Symbol.asyncIterator in value) return value as RecipientInput;
  return null;
}

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
 * An array is checked whole before the store sees it, so every bad row is reported at once. The
 * event loop turns every `RECIPIENTS_PER_TURN` recipients: one large request never holds up the
 * others for long.
 */
async function checkAll(
  list: readonly unknown[],
  checker: RecipientChecker,
): Promise<Result<NewRecipient[], ValidationIssue[]>> {
  const accepted: NewRecipient[] = [];
  const issues: ValidationIssue[] = [];
  for (let at = 0; at < list.length && issues.length < MAX_REPORTED_ISSUES; at++) {
    if (at > 0 && at % RECIPIENTS_PER_TURN === 0) await yieldToEventLoop();
    checker.check(list[at]).match(
      (recipient) => accepted.push(recipient),
      (refused) => issues.push(...refused),
    );
  }
  if (issues.length < MAX_REPORTED_ISSUES) issues.push(...checker.finish());
  return issues.length === 0 ? ok(accepted) : err(issues.slice(0, MAX_REPORTED_ISSUES));
}

/**
 * A stream is checked as the store reads it; the first bad row throws inside the store's read, so
 * the store abandons the insert. The refusal is also kept here, in case the store wraps what it
 * rethrows. The store reads it as an async iterable that lets the event loop turn every
 * `RECIPIENTS_PER_TURN` recipients, even when the host's source is synchronous.
 */
function checkedStream(source: RecipientInput, checker: RecipientChecker) {
  let refusal: RecipientsRefused | undefined;
  const step = (input: unknown): NewRecipient => {
    const checked = checker.check(input);
    if (checked.isOk()) return checked.value;
    refusal = new RecipientsRefused(checked.error);
    throw refusal;
  };
  const end = (): void => {
    const late = checker.finish();
    if (late.length === 0) return;
    refusal = new RecipientsRefused(late);
    throw refusal;
  };
  async function* checked(): AsyncGenerator<NewRecipient> {
    let count = 0;
    if (Symbol.asyncIterator in source) {
      for await (const input of source) {
        yield step(input);
        if (++count % RECIPIENTS_PER_TURN === 0) await yieldToEventLoop();
      }
    } else {
      // for...of, not for await, which would also await the promises a synchronous source yields.
      for (const input of source) {
        yield step(input);
        if (++count % RECIPIENTS_PER_TURN === 0) await yieldToEventLoop();
      }
    }
    end();
  }
  const recipients: RecipientSource = checked();
  return { recipients, refusal: () => refusal };
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
    const sourceIssues =
      source === null
        ? [{ path: "recipients", message: "must be an array or an (async) iterable of recipients" }]
        : [];
    return errAsync(validationError([...(header.isErr() ? header.error : []), ...sourceIssues]));
  }
  const checker = recipientChecker(header.value.message);
  if (Array.isArray(source)) {
    const broadcast = header.value;
    return ResultAsync.fromSafePromise(checkAll(source, checker)).andThen((checked) =>
      checked.isErr()
        ? errAsync(validationError(checked.error))
        : insert(deps, broadcast, checked.value, () => undefined),
    );
  }
  const stream = checkedStream(source, checker);
  return insert(deps, header.value, stream.recipients, stream.refusal);
}

function insert(
  deps: ServiceDeps,
  broadcast: NewBroadcast,
  recipients: RecipientSource,
  refusal: () => RecipientsRefused | undefined,
): ResultAsync<Broadcast, BroadcastError> {
  const creating = new Promise<Broadcast>((resolve) =>
    resolve(deps.store.createBroadcast(broadcast, recipients)),
  );
  return ResultAsync.fromPromise(creating, (cause) => {
    const refused = refusal();
    if (refused !== undefined) return validationError(refused.issues);
    deps.logger.error({ err: cause, operation: "createBroadcast" }, "adapter call failed");
    return storageError(cause);
  }).andThen((created) => {
    const refused = refusal();
    if (refused !== undefined) {
      // The store kept a broadcast although its recipient stream threw: a broken store contract.
      deps.logger.error({ broadcastId: created.id }, "store kept a broadcast whose recipients were refused");
      return err(validationError(refused.issues));
    }
    deps.logger.info(
      { broadcastId: created.id, totalRecipients: created.totalRecipients, status: created.status },
      "broadcast created",
    );
    return ok(created);
  });
}
