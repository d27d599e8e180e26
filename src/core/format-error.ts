import type { BroadcastError, ValidationIssue } from "./errors.js";
import { BROADCAST_MESSAGES, isLocale, type Locale } from "./messages.js";

/** A list of ten thousand bad recipients does not need ten thousand lines in one message. */
const MAX_ISSUES_IN_MESSAGE = 5;

/** `path: reason; path: reason; +N more`, the input as a whole named `body`. */
export function describeIssues(issues: readonly ValidationIssue[]): string {
  const shown = issues
    .slice(0, MAX_ISSUES_IN_MESSAGE)
    .map((issue) => `${issue.path === "" ? "body" : issue.path}: ${issue.message}`)
    .join("; ");
  const more = issues.length - MAX_ISSUES_IN_MESSAGE;
  return more > 0 ? `${shown}; +${more} more` : shown;
}

export interface FormatErrorOptions {
  /** `"en"` by default. */
  readonly locale?: Locale;
}

/**
 * An error as plain text for people, in the words the HTTP API answers with:
 * `Broadcast 7 cannot go from completed to cancelled`,
 * `Invalid input: recipients.3.chatId: must be an integer chat id or @channelusername`.
 * A storage failure's cause is left out (it is for logs).
 */
export function formatBroadcastError(error: BroadcastError, options: FormatErrorOptions = {}): string {
  const catalog = BROADCAST_MESSAGES[isLocale(options.locale) ? options.locale : "en"];
  switch (error.type) {
    case "not_found":
      return catalog.broadcastNotFound(error.broadcastId);
    case "invalid_transition":
      return catalog.invalidTransition(error.broadcastId, error.from, error.to);
    case "validation":
      return catalog.validation(describeIssues(error.issues));
    case "conflict":
    case "lease_lost":
      return catalog.conflict(error.broadcastId);
    case "storage":
      return catalog.storage;
  }
}
