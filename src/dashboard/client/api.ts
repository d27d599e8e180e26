import type { PageConfig } from "./config.js";
import type { WireIssue } from "./wire.js";

export type ApiAnswer<T> =
  | { readonly ok: true; readonly data: T }
  | { readonly ok: false; readonly message: string; readonly issues: readonly WireIssue[] };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null;

/**
 * Calls the admin API. Every POST carries a JSON body (`{}` when the action takes none) with
 * `Content-Type: application/json`: a form on another site can send neither, and the dashboard
 * refuses API calls without it, so no other site can act with the administrator's session.
 * Failures come back in the user's words: the API's own message, in the page's language.
 */
export async function callApi<T>(
  config: PageConfig,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const { catalog } = config;
  let response: Response;
  try {
    response = await fetch(`${config.api}/${path}`, {
      method,
      credentials: "same-origin",
      headers: {
        accept: "application/json",
        "accept-language": config.locale,
        ...(method === "POST" ? { "content-type": "application/json" } : {}),
      },
      ...(method === "POST" ? { body: JSON.stringify(body ?? {}) } : {}),
    });
  } catch {
    return { ok: false, message: catalog.errors.network, issues: [] };
  }
  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    return { ok: false, message: catalog.errors.unexpected(response.status), issues: [] };
  }
  if (isRecord(parsed) && parsed.success === true && "data" in parsed) {
    return { ok: true, data: parsed.data as T };
  }
  const error = isRecord(parsed) && isRecord(parsed.error) ? parsed.error : null;
  if (error !== null && typeof error.message === "string") {
    const issues = Array.isArray(error.issues) ? (error.issues as WireIssue[]) : [];
    return { ok: false, message: error.message, issues };
  }
  return { ok: false, message: catalog.errors.unexpected(response.status), issues: [] };
}
