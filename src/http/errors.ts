import type { BroadcastError, ValidationIssue } from "../core/errors.js";

/** Every way a request can fail: the service's errors plus those only HTTP has. */
export type HttpError =
  | BroadcastError
  | { readonly type: "route_not_found"; readonly method: string; readonly path: string }
  | { readonly type: "method_not_allowed"; readonly method: string; readonly allowed: readonly string[] }
  | { readonly type: "unauthenticated" }
  | { readonly type: "forbidden" }
  | { readonly type: "payload_too_large"; readonly maxBytes: number }
  /** A body sent without `Content-Type: application/json`; `contentType` is what the client sent. */
  | { readonly type: "unsupported_media_type"; readonly contentType: string | null }
  /** A bug or an outage: `cause` goes to the logger, never to the client. */
  | { readonly type: "internal"; readonly cause: unknown };

export type HttpErrorType = HttpError["type"];

/** The wire codes of SPEC §8, plus `payload_too_large` and `unsupported_media_type`. */
export type ErrorCode =
  | "not_found"
  | "invalid_transition"
  | "validation"
  | "unauthorized"
  | "forbidden"
  | "method_not_allowed"
  | "conflict"
  | "payload_too_large"
  | "unsupported_media_type"
  | "internal";

/** The one table from an error to its status and code. */
export const ERROR_STATUS: Readonly<
  Record<HttpErrorType, { readonly status: number; readonly code: ErrorCode }>
> = {
  not_found: { status: 404, code: "not_found" },
  route_not_found: { status: 404, code: "not_found" },
  invalid_transition: { status: 400, code: "invalid_transition" },
  validation: { status: 400, code: "validation" },
  unauthenticated: { status: 401, code: "unauthorized" },
  forbidden: { status: 403, code: "forbidden" },
  method_not_allowed: { status: 405, code: "method_not_allowed" },
  conflict: { status: 409, code: "conflict" },
  // A stale lease is another writer winning a race: the client may try again, as with a conflict.
  lease_lost: { status: 409, code: "conflict" },
  payload_too_large: { status: 413, code: "payload_too_large" },
  unsupported_media_type: { status: 415, code: "unsupported_media_type" },
  // A storage failure's cause may hold SQL or connection strings: it is only ever logged.
  storage: { status: 500, code: "internal" },
  internal: { status: 500, code: "internal" },
};

export const validationFailure = (path: string, message: string): HttpError => ({
  type: "validation",
  issues: [{ path, message }],
});

export const internalError = (cause: unknown): HttpError => ({ type: "internal", cause });

/** Whether the error hides a cause that only the logger may see. */
export const isServerFault = (error: HttpError): error is Extract<HttpError, { cause: unknown }> =>
  ERROR_STATUS[error.type].status >= 500;

/**
 * Service field names as the wire spells them; everything else is spelled the same on both sides.
 * A `Map`, so a segment such as `constructor` or `__proto__` finds nothing of `Object.prototype`.
 */
const WIRE_FIELD_NAMES: ReadonlyMap<string, string> = new Map([
  ["recipientId", "recipient_id"],
  ["chatId", "chat_id"],
  ["parseMode", "parse_mode"],
  ["scheduledAt", "scheduled_at"],
  ["errorThreshold", "error_threshold"],
  ["includePermanent", "include_permanent"],
  ["createdBy", "created_by"],
  ["sentCount", "sent_count"],
  ["failedCount", "failed_count"],
]);

/**
 * A service issue path (`recipients.3.chatId`) as the client named the field
 * (`recipients.3.chat_id`). Keys under `variables` are the client's own names and stay as given.
 */
export function wirePath(path: string): string {
  if (path === "") return path;
  const segments = path.split(".");
  const variablesAt = segments.indexOf("variables");
  return segments
    .map((segment, index) =>
      variablesAt !== -1 && index > variablesAt ? segment : (WIRE_FIELD_NAMES.get(segment) ?? segment),
    )
    .join(".");
}

/**
 * A service error as the wire names its fields. Applied where an error leaves the service: the
 * HTTP layer's own refusals name fields as the client sent them, and stay as they are.
 */
export const wireError = (error: BroadcastError): BroadcastError =>
  error.type === "validation"
    ? {
        type: "validation",
        issues: error.issues.map((issue: ValidationIssue) => ({
          path: wirePath(issue.path),
          message: issue.message,
        })),
      }
    : error;
