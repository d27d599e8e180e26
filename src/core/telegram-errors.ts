import type { SendResult } from "./outcome.js";
import type { FailureKind } from "./types.js";

/** A `SendResult` that is not a delivery. */
export type FailedSendResult = Extract<SendResult, { status: "failed" }>;

/** `ResponseParameters` of the Bot API: hints that come with some errors. */
export interface TelegramResponseParameters {
  /** Seconds to wait before the next call (flood control, HTTP 429). */
  readonly retry_after?: number;
  /** The group became a supergroup with this id. */
  readonly migrate_to_chat_id?: number;
}

/**
 * What came back from Telegram when a call did not succeed: the Bot API's error object
 * (`error_code`, `description`, `parameters`) and/or the HTTP status when the body was not one.
 */
export interface TelegramErrorAnswer {
  readonly error_code?: number;
  /** HTTP status; used when `error_code` is absent (a proxy's HTML error page, an empty body). */
  readonly status?: number;
  readonly description?: string;
  readonly parameters?: TelegramResponseParameters;
}

/** A call that got no answer at all. */
export type TelegramTransportFailure =
  | { readonly type: "timeout" }
  /** `reason` is a short, secret-free cause such as `ECONNREFUSED`. */
  | { readonly type: "network"; readonly reason?: string };

/** Used when a 429 carries no `retry_after`: wait a second rather than hammer the API. */
export const DEFAULT_RETRY_AFTER_MS = 1_000;

/** Descriptions are matched as lower-case substrings, so "Forbidden: bot was blocked by the user" matches. */
interface DescriptionRule {
  readonly code: number;
  readonly contains: string;
  readonly kind: FailureKind;
}

/**
 * Known refusals, by error code and description. Telegram's descriptions are the only stable
 * signal it gives (its docs say codes are "subject to change"), so the table matches both.
 * - `permanent`: this chat will refuse every later message too (blocked, deactivated, gone).
 * - `content`: the message itself is refused, so every recipient would refuse it.
 */
export const TELEGRAM_DESCRIPTION_RULES: readonly DescriptionRule[] = [
  { code: 403, contains: "bot was blocked by the user", kind: "permanent" },
  { code: 403, contains: "user is deactivated", kind: "permanent" },
  { code: 403, contains: "bot was kicked", kind: "permanent" },
  { code: 403, contains: "bot can't initiate conversation", kind: "permanent" },
  { code: 403, contains: "bots can't send messages to bots", kind: "permanent" },
  { code: 403, contains: "bot is not a member", kind: "permanent" },
  { code: 403, contains: "have no rights to send", kind: "permanent" },
  { code: 403, contains: "not enough rights", kind: "permanent" },
  { code: 400, contains: "chat not found", kind: "permanent" },
  { code: 400, contains: "user not found", kind: "permanent" },
  { code: 400, contains: "peer_id_invalid", kind: "permanent" },
  { code: 400, contains: "group chat was deactivated", kind: "permanent" },
  { code: 400, contains: "have no rights to send", kind: "permanent" },
  { code: 400, contains: "not enough rights", kind: "permanent" },
  { code: 400, contains: "can't parse entities", kind: "content" },
  { code: 400, contains: "message is too long", kind: "content" },
  { code: 400, contains: "message text is empty", kind: "content" },
  { code: 400, contains: "text must be non-empty", kind: "content" },
  { code: 400, contains: "unsupported parse_mode", kind: "content" },
];

/**
 * The bot itself is refused (revoked or mistyped token: Telegram answers 401, or 404 for a path
 * it does not know). Every message of this broadcast would be refused alike, so this is reported
 * as `content`: the broadcast pauses for a human instead of failing every recipient.
 */
const BOT_REFUSED_CODES: ReadonlySet<number> = new Set([401, 404]);

const failed = (
  kind: FailureKind,
  description: string,
  extra: { retryAfterMs?: number; migrateToChatId?: number } = {},
): FailedSendResult => ({ status: "failed", kind, description, ...extra });

const isPositiveNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value > 0;

/**
 * Classifies a Bot API error answer. Pure: the same answer always gives the same result.
 *
 * - 429 → `transient` with `retryAfterMs` = `retry_after` × 1000 (throttling, not the recipient's fault);
 * - `parameters.migrate_to_chat_id` → `transient` with `migrateToChatId`: the worker resends there;
 * - 5xx → `transient`;
 * - a row of `TELEGRAM_DESCRIPTION_RULES` → its kind;
 * - 401/404 → `content` (see `BOT_REFUSED_CODES`);
 * - anything else → `transient`. An unknown answer is retried a few times and then fails: a retry
 *   costs one call, while wrongly failing a recipient for good loses their message.
 */
export function classifyTelegramError(answer: TelegramErrorAnswer): FailedSendResult {
  const code = answer.error_code ?? answer.status ?? 0;
  const description = answer.description?.trim() || (code > 0 ? `HTTP ${code}` : "Unknown error");
  const parameters = answer.parameters ?? {};

  if (code === 429) {
    const retryAfterMs = isPositiveNumber(parameters.retry_after)
      ? parameters.retry_after * 1000
      : DEFAULT_RETRY_AFTER_MS;
    return failed("transient", description, { retryAfterMs });
  }
  if (typeof parameters.migrate_to_chat_id === "number") {
    return failed("transient", description, { migrateToChatId: parameters.migrate_to_chat_id });
  }
  if (code >= 500) return failed("transient", description);

  const lower = description.toLowerCase();
  const rule = TELEGRAM_DESCRIPTION_RULES.find((r) => r.code === code && lower.includes(r.contains));
  if (rule !== undefined) return failed(rule.kind, description);
  if (BOT_REFUSED_CODES.has(code)) return failed("content", description);
  return failed("transient", description);
}

/** No answer at all: a timeout or a network error may succeed on the next try. */
export function classifyTransportFailure(failure: TelegramTransportFailure): FailedSendResult {
  if (failure.type === "timeout") return failed("transient", "Network timeout");
  return failed("transient", failure.reason ? `Network error: ${failure.reason}` : "Network error");
}
