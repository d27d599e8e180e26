import {
  cancelledCount,
  errorSummary,
  pendingCount,
  processedPct,
  progressPct,
} from "../../core/progress.js";
import type { Broadcast, Page, PauseReason, Recipient, RecipientStatus } from "../../core/types.js";
import { RECIPIENT_STATUSES } from "../../core/types.js";
import { actionAllowed, type DashboardAction } from "../actions.js";
import { rankedReasons } from "../failure-reasons.js";
import { type Html, html } from "../html.js";
import type { DashboardCatalog } from "../messages.js";
import { layout, type PageContext, pageLink, statusBadge, timeTag } from "./layout.js";

export interface DetailView {
  readonly broadcast: Broadcast;
  readonly recipients: Page<Recipient>;
  /** `undefined`: every state. */
  readonly state: RecipientStatus | undefined;
  readonly cursor: string | undefined;
  readonly back: readonly string[];
  /** Rows a page holds, so the page's script re-reads as many. */
  readonly pageSize: number;
}

function pauseReasonText(catalog: DashboardCatalog, reason: PauseReason): string {
  switch (reason.type) {
    case "manual":
      return catalog.pauseReason.manual;
    case "content_refused":
      return catalog.pauseReason.contentRefused(reason.description);
    case "error_threshold":
      return catalog.pauseReason.errorThreshold(reason.failedCount, reason.threshold);
  }
}

function actionButton(
  ctx: PageContext,
  b: Broadcast,
  action: DashboardAction,
  label: string,
  kind: "primary" | "danger" | "" = "",
): Html {
  const allowed = actionAllowed(action, b.status);
  return html`<button type="button" id="action-${action}" data-action="${action}" class="${kind}"${
    allowed ? "" : html` disabled title="${ctx.catalog.actions.notNow(ctx.catalog.status[b.status])}"`
  }>${label}</button>`;
}

function fact(label: string, value: Html | string, optional: boolean, shown = true): Html {
  return html`<div${optional ? html` data-optional` : ""}${shown ? "" : html` hidden`}><dt>${label}</dt><dd>${value}</dd></div>`;
}

function stat(label: string, field: string, value: number, kind = ""): Html {
  return html`<div class="stat ${kind}"><div class="label">${label}</div><div class="value" data-field="${field}">${value}</div></div>`;
}

/** Failures by reason, as the page's script renders them too (see client/failures.ts). */
export function failureBars(ctx: PageContext, counts: Readonly<Record<string, number>>): Html {
  const reasons = rankedReasons(counts);
  const top = reasons[0]?.[1] ?? 0;
  if (reasons.length === 0) return html`<li class="empty">${ctx.catalog.charts.noFailures}</li>`;
  return html`${reasons.map(
    ([reason, count]) =>
      html`<li><span class="reason">${reason}</span><meter class="bar" min="0" max="${top}" value="${count}"></meter><span class="count">${count}</span></li>`,
  )}`;
}

function recipientsSection(ctx: PageContext, view: DetailView): Html {
  const { catalog } = ctx;
  const path = `${ctx.base}/${view.broadcast.id}/`;
  const current = view.state ?? "all";
  const filters = (["all", ...RECIPIENT_STATUSES] as const).map(
    (state) =>
      html`<a href="${pageLink(path, { state })}"${current === state ? html` aria-current="page"` : ""}>${
        state === "all" ? catalog.recipients.all : catalog.recipientState[state]
      }</a>`,
  );
  const rows = view.recipients.items.map(
    (r) => html`<tr>
      <td>${String(r.recipientId)}</td><td>${String(r.chatId)}</td>
      <td><span class="badge badge-${r.state}">${catalog.recipientState[r.state]}</span></td>
      <td class="num">${r.attempts}</td>
      <td class="last-error">${r.lastError ?? ""}${r.lastErrorKind === null ? "" : html` <small class="muted">(${r.lastErrorKind})</small>`}</td>
      <td>${timeTag(r.nextAttemptAt)}</td>
    </tr>`,
  );
  const previous = view.back.length > 0 ? view.back[view.back.length - 1] : undefined;
  const pager = html`<nav class="pager">
    ${view.cursor === undefined ? "" : html`<a href="${pageLink(path, { state: current })}">${catalog.firstPage}</a>`}
    ${
      view.cursor === undefined
        ? ""
        : html`<a rel="prev" href="${pageLink(path, { state: current, cursor: previous, back: view.back.slice(0, -1) })}">${catalog.previousPage}</a>`
    }
    ${
      view.recipients.nextCursor === null
        ? ""
        : html`<a rel="next" href="${pageLink(path, {
            state: current,
            cursor: view.recipients.nextCursor,
            back: view.cursor === undefined ? [] : [...view.back, view.cursor].slice(-20),
          })}">${catalog.nextPage}</a>`
    }
  </nav>`;
  return html`<section class="panel" id="recipients" data-state="${view.state ?? ""}" data-cursor="${view.cursor ?? ""}"
  data-limit="${view.pageSize}">
  <h2>${catalog.recipients.heading}</h2>
  <p id="recipients-stale" class="stale" hidden>${catalog.recipients.stale}
    <a href="${pageLink(path, { state: current, cursor: view.cursor, back: view.back })}">${catalog.recipients.showCurrent}</a></p>
  <nav class="filters" aria-label="${catalog.recipients.state}">${filters}</nav>
  ${
    rows.length === 0
      ? html`<p class="muted">${catalog.recipients.none}</p>`
      : html`<table id="recipient-table"><thead><tr><th>${catalog.recipients.recipient}</th><th>${catalog.recipients.chat}</th>
      <th>${catalog.recipients.state}</th><th class="num">${catalog.recipients.attempts}</th>
      <th>${catalog.recipients.lastError}</th><th>${catalog.recipients.nextAttempt}</th></tr></thead><tbody>${rows}</tbody></table>`
  }
  ${pager}
</section>`;
}

/** One broadcast: live progress, facts, actions, charts and its recipients. */
export function detailPage(ctx: PageContext, view: DetailView) {
  const { catalog } = ctx;
  const b = view.broadcast;
  const processed = processedPct(b);
  const delivered = progressPct(b);
  const title = catalog.broadcastTitle(b.id);
  const body = html`<article id="broadcast" data-status="${b.status}" data-failed-count="${b.failedCount}"
  data-snapshot="${`${b.status}:${b.sentCount}:${b.failedCount}`}">
<p><a href="${ctx.base}/">← ${catalog.backToList}</a></p>
<h1>${title} ${statusBadge(ctx, b.status, true)} <span id="live" class="live" aria-live="polite"></span></h1>
<div id="action-error" class="alert" role="alert" hidden></div>
<div id="action-notice" class="notice" role="status" hidden></div>
<section class="panel">
  <progress id="progress" class="big" max="100" value="${processed}">${processed} %</progress>
  <p id="progress-label" class="muted">${catalog.progressLabel(processed, delivered)}</p>
  <div class="stats">
    ${stat(catalog.fields.total, "total_recipients", b.totalRecipients)}
    ${stat(catalog.fields.sent, "sent_count", b.sentCount, "sent")}
    ${stat(catalog.fields.failed, "failed_count", b.failedCount, "failed")}
    ${stat(catalog.fields.pending, "pending_count", pendingCount(b))}
    ${stat(catalog.fields.cancelled, "cancelled_count", cancelledCount(b))}
    ${stat(`${catalog.fields.progressPct}, %`, "progress_pct", delivered)}
    ${stat(`${catalog.fields.processedPct}, %`, "processed_pct", processed)}
  </div>
</section>
<div class="grid">
  <section class="panel">
    <h2>${catalog.create.message}</h2>
    <pre class="message-text" id="message-text">${b.message.text}</pre>
    <dl class="facts">
      ${fact(catalog.fields.parseMode, b.message.parseMode ?? catalog.fields.plainText, false)}
      ${fact(catalog.fields.errorThreshold, b.errorThreshold === null ? "—" : String(b.errorThreshold), false)}
      ${fact(catalog.fields.pauseReason, b.pauseReason === null ? "" : pauseReasonText(catalog, b.pauseReason), true, b.pauseReason !== null)}
      ${fact(catalog.fields.errorSummary, html`<span data-field="error_summary">${errorSummary(b.failedCount, b.errorCounts) ?? "—"}</span>`, false)}
      ${fact(catalog.fields.created, timeTag(b.createdAt, "created_at"), false)}
      ${fact(catalog.fields.scheduled, timeTag(b.scheduledAt, "scheduled_at"), true, b.scheduledAt !== null)}
      ${fact(catalog.fields.started, timeTag(b.sentAt, "sent_at"), true, b.sentAt !== null)}
      ${fact(catalog.fields.finished, timeTag(b.completedAt, "completed_at"), true, b.completedAt !== null)}
    </dl>
  </section>
  <section class="panel">
    <h2>${catalog.actions.heading}</h2>
    <div class="actions">
      ${actionButton(ctx, b, "start", catalog.actions.start, "primary")}
      <span class="group"><label class="inline">${catalog.actions.scheduleAt}
        <input type="datetime-local" id="schedule-at"${actionAllowed("schedule", b.status) ? "" : html` disabled`}></label>
        ${actionButton(ctx, b, "schedule", catalog.actions.schedule)}</span>
      ${actionButton(ctx, b, "unschedule", catalog.actions.unschedule)}
      ${actionButton(ctx, b, "pause", catalog.actions.pause)}
      ${actionButton(ctx, b, "resume", catalog.actions.resume)}
      ${actionButton(ctx, b, "cancel", catalog.actions.cancel, "danger")}
      <span class="group">${actionButton(ctx, b, "retry", catalog.actions.retry)}
        <label class="inline"><input type="checkbox" id="include-permanent"${actionAllowed("retry", b.status) ? "" : html` disabled`}>
        ${catalog.actions.includePermanent}</label></span>
    </div>
  </section>
</div>
<div class="grid">
  <section class="panel">
    <h2>${catalog.charts.rate}</h2>
    <div id="rate-chart" class="chart"></div>
    <p id="rate-note" class="help">${catalog.charts.rateNote}</p>
  </section>
  <section class="panel">
    <h2>${catalog.charts.failures}</h2>
    <ul id="failure-bars" class="bars">${failureBars(ctx, b.errorCounts)}</ul>
  </section>
</div>
${recipientsSection(ctx, view)}
<dialog id="confirm-cancel"><form method="dialog">
  <p id="confirm-cancel-text"></p>
  <div class="buttons"><button value="keep">${catalog.actions.confirmCancelNo}</button>
  <button value="confirm" class="danger" id="confirm-cancel-yes">${catalog.actions.confirmCancelYes}</button></div>
</form></dialog>
</article>`;
  return layout(ctx, { title, page: "detail", body, data: { "broadcast-id": String(b.id) } });
}
