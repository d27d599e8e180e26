import { ResultAsync } from "neverthrow";
import { type BroadcastError, InvalidCursorError, storageError, validationError } from "../core/errors.js";
import type { BroadcastKitEvent, EventSink } from "../ports/events.js";
import type { Logger } from "../ports/logger.js";

/**
 * The logger port promises not to throw, but a host's logger is the host's code: a logger that
 * throws must never turn a stored change into a reported failure.
 */
export function guardLogger(logger: Logger): Logger {
  const guard =
    (level: keyof Logger) =>
    (fields: object, message?: string): void => {
      try {
        logger[level](fields, message);
      } catch {
        // Nowhere left to report it; the change it describes already happened.
      }
    };
  return { debug: guard("debug"), info: guard("info"), warn: guard("warn"), error: guard("error") };
}

/** A logger that puts `fields` on every line (a pino child logger, without needing pino). */
export function withFields(logger: Logger, fields: Readonly<Record<string, unknown>>): Logger {
  const bind =
    (level: keyof Logger) =>
    (own: object, message?: string): void =>
      logger[level]({ ...fields, ...own }, message);
  return { debug: bind("debug"), info: bind("info"), warn: bind("warn"), error: bind("error") };
}

export type Emit = (event: BroadcastKitEvent) => void;

/**
 * Events go out after the change is stored and never wait for the listener: a listener that
 * throws or rejects is logged and ignored, so it can neither undo nor block the change.
 */
export function eventEmitter(events: EventSink | undefined, logger: Logger): Emit {
  if (events === undefined) return () => {};
  const report = (event: BroadcastKitEvent, cause: unknown): void =>
    logger.warn({ err: cause, event: event.type, broadcastId: event.broadcastId }, "event listener failed");
  return (event) => {
    try {
      const pending = events.emit(event);
      if (pending !== undefined && typeof pending.then === "function") {
        pending.then(undefined, (cause: unknown) => report(event, cause));
      }
    } catch (cause) {
      report(event, cause);
    }
  };
}

/**
 * By name as well as by class: the package's entry points are bundled separately, so a store from
 * `broadcastkit/sqlite` throws its own copy of the class.
 */
const isInvalidCursor = (cause: unknown): boolean =>
  cause instanceof InvalidCursorError || (cause instanceof Error && cause.name === "InvalidCursorError");

/**
 * Runs one store or queue call: a rejection (or a synchronous throw) becomes a `storage` error,
 * and its cause goes to the log, never to the caller's user. A cursor the store refuses is the
 * caller's mistake and becomes a `validation` error instead.
 */
export function adapterCall<T>(
  logger: Logger,
  operation: string,
  call: () => PromiseLike<T>,
): ResultAsync<T, BroadcastError> {
  const running = new Promise<T>((resolve) => resolve(call()));
  return ResultAsync.fromPromise(running, (cause) => {
    if (isInvalidCursor(cause)) {
      return validationError([{ path: "cursor", message: "is not a cursor this list issued" }]);
    }
    logger.error({ err: cause, operation }, "adapter call failed");
    return storageError(cause);
  });
}
