import type { ValidationIssue } from "../core/errors.js";
import { describeIssues } from "../core/format-error.js";
import { ERROR_STATUS, type ErrorCode, type HttpError } from "./errors.js";
import type { MessageCatalog } from "./messages.js";

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  // Admin data changes every second; no cache or proxy should keep a copy.
  "cache-control": "no-store",
};

export function jsonResponse(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}

export const successResponse = (
  data: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response => jsonResponse({ success: true, data }, status, headers);

export interface ErrorBody {
  readonly code: ErrorCode;
  readonly message: string;
  readonly issues?: readonly ValidationIssue[];
}

/** Issues a response lists; a list of ten thousand bad recipients does not need ten thousand lines. */
const MAX_ISSUES_LISTED = 50;

/**
 * The client-facing `{code, message}` of an error, in the request's language. Says nothing of
 * causes. Issue paths are shown as they are: service errors arrive already in the wire's spelling.
 */
export function errorBody(error: HttpError, catalog: MessageCatalog): ErrorBody {
  const { code } = ERROR_STATUS[error.type];
  switch (error.type) {
    case "not_found":
      return { code, message: catalog.broadcastNotFound(error.broadcastId) };
    case "route_not_found":
      return { code, message: catalog.routeNotFound(error.method, error.path) };
    case "invalid_transition":
      return { code, message: catalog.invalidTransition(error.broadcastId, error.from, error.to) };
    case "validation":
      return {
        code,
        message: catalog.validation(describeIssues(error.issues)),
        issues: error.issues.slice(0, MAX_ISSUES_LISTED),
      };
    case "unauthenticated":
      return { code, message: catalog.unauthorized };
    case "forbidden":
      return { code, message: catalog.forbidden };
    case "method_not_allowed":
      return { code, message: catalog.methodNotAllowed(error.method, error.allowed) };
    case "conflict":
    case "lease_lost":
      return { code, message: catalog.conflict(error.broadcastId) };
    case "payload_too_large":
      return { code, message: catalog.payloadTooLarge(error.maxBytes) };
    case "unsupported_media_type":
      return { code, message: catalog.unsupportedMediaType };
    case "storage":
    case "internal":
      return { code, message: catalog.internal };
  }
}

export function errorResponse(error: HttpError, catalog: MessageCatalog): Response {
  const headers: Record<string, string> =
    error.type === "method_not_allowed" ? { allow: error.allowed.join(", ") } : {};
  return jsonResponse(
    { success: false, error: errorBody(error, catalog) },
    ERROR_STATUS[error.type].status,
    headers,
  );
}
