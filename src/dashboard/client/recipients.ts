import type { RecipientStatus } from "../../core/types.js";
import type { DashboardCatalog } from "../messages.js";
import { callApi } from "./api.js";
import type { PageConfig } from "./config.js";
import { el } from "./dom.js";
import { showTime } from "./time.js";

interface RecipientJson {
  readonly recipient_id: number | string;
  readonly chat_id: number | string;
  readonly status: RecipientStatus;
  readonly attempts: number;
  readonly last_error: string | null;
  readonly last_error_kind: string | null;
  readonly next_attempt_at: string | null;
}

/** One row, as the server renders it (pages/detail-page.ts): text nodes only. */
function row(r: RecipientJson, catalog: DashboardCatalog, locale: string): HTMLTableRowElement {
  const next = el("time");
  if (r.next_attempt_at !== null) {
    next.dateTime = r.next_attempt_at;
    showTime(next, locale);
  }
  return el(
    "tr",
    {},
    el("td", {}, String(r.recipient_id)),
    el("td", {}, String(r.chat_id)),
    el("td", {}, el("span", { className: `badge badge-${r.status}` }, catalog.recipientState[r.status])),
    el("td", { className: "num" }, r.attempts),
    el(
      "td",
      { className: "last-error" },
      r.last_error ?? "",
      r.last_error_kind === null ? null : " ",
      r.last_error_kind === null ? null : el("small", { className: "muted" }, `(${r.last_error_kind})`),
    ),
    el("td", {}, next),
  );
}

/**
 * Re-reads the first page of recipients the table shows (same state filter) and puts the rows in
 * place. A later page is left as it is, under the notice that it changed: its cursor may no longer
 * start where it did. Answers whether the table is current.
 */
export async function refreshRecipients(
  config: PageConfig,
  id: number,
  section: HTMLElement,
): Promise<boolean> {
  if (section.dataset.cursor !== undefined && section.dataset.cursor !== "") return false;
  const body = section.querySelector("tbody");
  if (body === null) return false;
  const state = section.dataset.state ?? "";
  const query = new URLSearchParams({ limit: section.dataset.limit ?? "25" });
  if (state !== "") query.set("status", state);
  const answer = await callApi<{ items: RecipientJson[] }>(config, "GET", `${id}/recipients/?${query}`);
  if (!answer.ok) return false;
  body.replaceChildren(...answer.data.items.map((r) => row(r, config.catalog, config.locale)));
  return true;
}
