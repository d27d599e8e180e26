import { MAX_MESSAGE_LENGTH, renderTemplate } from "../../core/template.js";
import type { ParseMode } from "../../core/types.js";
import { callApi } from "./api.js";
import type { PageConfig } from "./config.js";
import { type CsvRecipient, type ParsedCsv, parseRecipientsCsv } from "./csv.js";
import { byId, el, say } from "./dom.js";
import { browserTimeZone } from "./time.js";
import type { WireIssue } from "./wire.js";

/** Recipients per request: well under the API's default body limit, even with a few variables each. */
export const RECIPIENTS_PER_REQUEST = 2_000;
const PREVIEW_CHOICES = 200;

const wireRecipient = ({ line: _line, ...recipient }: CsvRecipient) => recipient;

/** `recipients.12.chat_id` of a request that carried recipients from `offset` on, as a CSV line. */
function issueInWords(issue: WireIssue, chunk: readonly CsvRecipient[], config: PageConfig): string {
  const match = /^recipients\.([0-9]+)(?:\.(.*))?$/.exec(issue.path);
  const recipient = match === null ? undefined : chunk[Number(match[1])];
  if (match === null || recipient === undefined) return `${issue.path}: ${issue.message}`;
  const field = match[2] === undefined ? "" : `${match[2]}: `;
  return config.catalog.create.csvLine(recipient.line, `${field}${issue.message}`);
}

/**
 * The create form: recipients from an uploaded or pasted CSV, a preview of the message rendered
 * for one of them by the same template code the worker uses, and the send time read in the
 * browser's time zone. Large lists go as a draft plus chunks, then the schedule.
 */
export function startCreatePage(config: PageConfig): void {
  const { catalog } = config;
  const form = byId("create-form", HTMLFormElement);
  const message = byId("message", HTMLTextAreaElement);
  const parseMode = byId("parse-mode", HTMLSelectElement);
  const file = byId("csv-file", HTMLInputElement);
  const csvText = byId("csv-text", HTMLTextAreaElement);
  const summary = byId("csv-summary", HTMLElement);
  const problems = byId("csv-problems", HTMLElement);
  const sample = byId("preview-recipient", HTMLSelectElement);
  const preview = byId("preview", HTMLElement);
  const length = byId("preview-length", HTMLElement);
  const sendAt = byId("send-at", HTMLInputElement);
  const threshold = byId("error-threshold", HTMLInputElement);
  const submit = byId("submit", HTMLButtonElement);
  const failure = byId("form-error", HTMLElement);
  const issues = byId("form-issues", HTMLElement);
  const progress = byId("upload-progress", HTMLElement);
  byId("send-at-label", HTMLElement).textContent = catalog.create.sendAt(browserTimeZone());

  let parsed: ParsedCsv = { recipients: [], variables: [], problems: [] };

  const mode = (): ParseMode | undefined =>
    parseMode.value === "HTML" || parseMode.value === "MarkdownV2" ? parseMode.value : undefined;

  const showPreview = () => {
    const chosen = parsed.recipients[Number(sample.value)] ?? parsed.recipients[0];
    if (message.value === "") {
      preview.textContent = catalog.create.previewEmpty;
      preview.classList.add("empty");
      length.textContent = "";
      return;
    }
    const text = renderTemplate(message.value, chosen?.variables ?? null, mode());
    preview.classList.remove("empty");
    preview.textContent = text;
    length.textContent = catalog.create.length(text.length, MAX_MESSAGE_LENGTH);
    length.classList.toggle("over", text.length > MAX_MESSAGE_LENGTH);
  };

  const showCsv = () => {
    parsed = parseRecipientsCsv(csvText.value, catalog);
    summary.textContent =
      parsed.recipients.length === 0
        ? catalog.create.noRecipients
        : catalog.create.parsed(parsed.recipients.length, parsed.variables);
    problems.replaceChildren(
      ...parsed.problems.slice(0, 20).map((p) => el("li", {}, catalog.create.csvLine(p.line, p.message))),
    );
    const before = sample.value;
    sample.replaceChildren(
      ...parsed.recipients.slice(0, PREVIEW_CHOICES).map((recipient, index) => {
        const option = el("option", {}, `${recipient.recipient_id} → ${recipient.chat_id}`);
        option.value = String(index);
        return option;
      }),
    );
    if ([...sample.options].some((option) => option.value === before)) sample.value = before;
    showPreview();
  };

  const showSubmitLabel = () => {
    submit.textContent = sendAt.value === "" ? catalog.create.submitDraft : catalog.create.submitScheduled;
  };

  let typing: ReturnType<typeof setTimeout> | undefined;
  csvText.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(showCsv, 150);
  });
  file.addEventListener("change", async () => {
    const chosen = file.files?.[0];
    if (chosen === undefined) return;
    csvText.value = await chosen.text();
    showCsv();
  });
  message.addEventListener("input", showPreview);
  parseMode.addEventListener("change", showPreview);
  sample.addEventListener("change", showPreview);
  sendAt.addEventListener("input", showSubmitLabel);

  const fail = (text: string, details: readonly string[] = []) => {
    say(failure, text);
    issues.replaceChildren(...details.slice(0, 20).map((detail) => el("li", {}, detail)));
    say(progress, "");
    submit.disabled = false;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    say(failure, "");
    issues.replaceChildren();
    showCsv();
    if (parsed.problems.length > 0) {
      fail(
        catalog.create.csvLine(parsed.problems[0]?.line ?? 1, parsed.problems[0]?.message ?? ""),
        parsed.problems.map((p) => catalog.create.csvLine(p.line, p.message)),
      );
      return;
    }
    const at = sendAt.value === "" ? null : new Date(sendAt.value);
    if (at !== null && Number.isNaN(at.getTime())) {
      sendAt.reportValidity();
      return;
    }
    submit.disabled = true;
    const all = parsed.recipients;
    const chunks: CsvRecipient[][] = [];
    for (let i = 0; i < all.length; i += RECIPIENTS_PER_REQUEST)
      chunks.push(all.slice(i, i + RECIPIENTS_PER_REQUEST));
    const [first = [], ...rest] = chunks;
    const whole = rest.length === 0;
    const parseModeValue = mode();
    say(progress, catalog.create.uploading(first.length, all.length));
    const created = await callApi<{ id: number }>(config, "POST", "", {
      message: { text: message.value, parse_mode: parseModeValue ?? null },
      recipients: first.map(wireRecipient),
      scheduled_at: whole && at !== null ? at.toISOString() : null,
      error_threshold: threshold.value === "" ? null : Number(threshold.value),
    });
    if (!created.ok) {
      fail(
        created.message,
        created.issues.map((issue) => issueInWords(issue, first, config)),
      );
      return;
    }
    const { id } = created.data;
    let sent = first.length;
    for (const chunk of rest) {
      const added = await callApi(config, "POST", `${id}/recipients/`, {
        recipients: chunk.map(wireRecipient),
      });
      if (!added.ok) {
        fail(
          `${catalog.create.partial(id)} ${added.message}`,
          added.issues.map((i) => issueInWords(i, chunk, config)),
        );
        return;
      }
      sent += chunk.length;
      say(progress, catalog.create.uploading(sent, all.length));
    }
    if (!whole && at !== null) {
      const scheduled = await callApi(config, "POST", `${id}/schedule/`, { scheduled_at: at.toISOString() });
      if (!scheduled.ok) {
        fail(scheduled.message);
        return;
      }
    }
    window.location.assign(`${config.base}/${id}/`);
  });

  showCsv();
  showSubmitLabel();
}
