import { BROADCAST_STATUSES, type Broadcast, type BroadcastStatus, type Page } from "../../core/types.js";
import { html } from "../html.js";
import { layout, type PageContext, pageLink, statusBadge, timeTag } from "./layout.js";

export interface ListView {
  readonly page: Page<Broadcast>;
  readonly status: BroadcastStatus | undefined;
  readonly cursor: string | undefined;
  /** Cursors of the pages before this one, oldest first, so "previous" can go back. */
  readonly back: readonly string[];
}

const MESSAGE_PREVIEW_CHARS = 120;

/** Broadcasts, newest first: status badge, progress bar and counts; filter by status; cursor pages. */
export function listPage(ctx: PageContext, view: ListView) {
  const { catalog } = ctx;
  const path = `${ctx.base}/`;
  const status = view.status ?? "";
  const filters = [
    html`<a href="${path}"${view.status === undefined ? html` aria-current="page"` : ""}>${catalog.allStatuses}</a>`,
    ...BROADCAST_STATUSES.map(
      (s) =>
        html`<a href="${pageLink(path, { status: s })}"${view.status === s ? html` aria-current="page"` : ""}>${
          catalog.status[s]
        }</a>`,
    ),
  ];
  const rows = view.page.items.map((b) => {
    const processed =
      b.totalRecipients === 0 ? 0 : Math.floor((100 * (b.sentCount + b.failedCount)) / b.totalRecipients);
    const delivered = b.totalRecipients === 0 ? 0 : Math.floor((100 * b.sentCount) / b.totalRecipients);
    const text =
      b.message.text.length > MESSAGE_PREVIEW_CHARS
        ? `${b.message.text.slice(0, MESSAGE_PREVIEW_CHARS)}…`
        : b.message.text;
    return html`<tr data-broadcast="${b.id}">
      <td class="num"><a href="${ctx.base}/${b.id}/">${b.id}</a></td>
      <td class="message"><a href="${ctx.base}/${b.id}/" title="${text}">${text}</a></td>
      <td>${statusBadge(ctx, b.status)}</td>
      <td class="progress-cell"><progress max="100" value="${processed}">${processed} %</progress>
        <small>${catalog.progressLabel(processed, delivered)}</small></td>
      <td class="num">${catalog.countsLine(b.sentCount, b.failedCount, b.totalRecipients)}</td>
      <td>${timeTag(b.createdAt)}</td>
    </tr>`;
  });
  const previous = view.back.length > 0 ? view.back[view.back.length - 1] : undefined;
  const pager = html`<nav class="pager">
    ${view.cursor === undefined ? "" : html`<a href="${pageLink(path, { status })}">${catalog.firstPage}</a>`}
    ${
      view.cursor === undefined
        ? ""
        : html`<a rel="prev" href="${pageLink(path, { status, cursor: previous, back: view.back.slice(0, -1) })}">${catalog.previousPage}</a>`
    }
    ${
      view.page.nextCursor === null
        ? ""
        : html`<a rel="next" href="${pageLink(path, {
            status,
            cursor: view.page.nextCursor,
            back: view.cursor === undefined ? [] : [...view.back, view.cursor].slice(-20),
          })}">${catalog.nextPage}</a>`
    }
  </nav>`;
  return layout(ctx, {
    title: catalog.title,
    page: "list",
    body: html`<h1>${catalog.title}</h1>
<section class="panel">
  <nav class="filters" aria-label="${catalog.filter}">${filters}</nav>
  ${
    rows.length === 0
      ? html`<p class="muted">${catalog.noBroadcasts}</p>`
      : html`<table id="broadcasts"><thead><tr>
      <th class="num">${catalog.columns.id}</th><th>${catalog.columns.message}</th><th>${catalog.columns.status}</th>
      <th>${catalog.columns.progress}</th><th class="num">${catalog.columns.counts}</th><th>${catalog.columns.created}</th>
    </tr></thead><tbody>${rows}</tbody></table>`
  }
  ${pager}
</section>`,
  });
}
