import { err, ok, okAsync, type Result, ResultAsync } from "neverthrow";
import { type BroadcastError, storageError, type ValidationIssue, validationError } from "../core/errors.js";
import type { NewRecipient } from "../core/types.js";
import type { RecipientSource } from "../ports/store.js";
import { RECIPIENTS_PER_TURN, yieldToEventLoop } from "./event-loop.js";
import type { RecipientChecker } from "./recipient-checker.js";
import type { ServiceDeps } from "./service-deps.js";

/** Enough to fix a file of bad rows; a million refused rows would not help anyone more. */
const MAX_REPORTED_ISSUES = 100;

/**
 * Thrown from inside the validating stream to make the store abandon what it was writing (the
 * store promises all or nothing); never leaves the service.
 */
class RecipientsRefused extends Error {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super("recipients refused");
  }
}

export type RecipientInput = Iterable<unknown> | AsyncIterable<unknown>;

export const NOT_A_RECIPIENT_LIST: ValidationIssue = {
  path: "recipients",
  message: "must be an array or an (async) iterable of recipients",
};

/** Recipients as a caller gave them: an array or an (async) iterable, else `null`. */
export function recipientInput(value: unknown): RecipientInput | null {
  if (typeof value !== "object" || value === null) return null;
  if (Symbol.iterator in value || Symbol.asyncIterator in value) return value as RecipientInput;
  return null;
}

/** Recipients on their way to the store, checked; `refusal` tells why a stream was stopped. */
export interface CheckedRecipients {
  readonly recipients: RecipientSource;
  readonly refusal: () => RecipientsRefused | undefined;
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
 * the store abandons the write. The refusal is also kept here, in case the store wraps what it
 * rethrows. The store reads it as an async iterable that lets the event loop turn every
 * `RECIPIENTS_PER_TURN` recipients, even when the host's source is synchronous.
 */
function checkedStream(source: RecipientInput, checker: RecipientChecker): CheckedRecipients {
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
  return { recipients: checked(), refusal: () => refusal };
}

/** Checks recipients with `checker`: an array at once (all its issues), a stream as it is read. */
export function checkRecipients(
  source: RecipientInput,
  checker: RecipientChecker,
): ResultAsync<CheckedRecipients, BroadcastError> {
  if (!Array.isArray(source)) return okAsync(checkedStream(source, checker));
  return ResultAsync.fromSafePromise(checkAll(source, checker)).andThen((checked) =>
    checked.isErr()
      ? err(validationError(checked.error))
      : ok({ recipients: checked.value, refusal: () => undefined }),
  );
}

/**
 * Runs the store call that reads the checked recipients. A bad recipient in a stream is a
 * `validation` error, whether the store rejected with it or (breaking its contract) kept going;
 * any other rejection is a `storage` error, logged.
 */
export function storeRecipients<T>(
  deps: Pick<ServiceDeps, "logger">,
  operation: string,
  checked: CheckedRecipients,
  call: () => Promise<T>,
): ResultAsync<T, BroadcastError> {
  const running = new Promise<T>((resolve) => resolve(call()));
  return ResultAsync.fromPromise(running, (cause) => {
    const refused = checked.refusal();
    if (refused !== undefined) return validationError(refused.issues);
    deps.logger.error({ err: cause, operation }, "adapter call failed");
    return storageError(cause);
  }).andThen((stored) => {
    const refused = checked.refusal();
    if (refused === undefined) return ok(stored);
    deps.logger.error({ operation }, "the store kept recipients its source refused");
    return err(validationError(refused.issues));
  });
}
