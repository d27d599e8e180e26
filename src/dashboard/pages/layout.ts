import type { Locale } from "../../core/messages.js";
import { ICON_ASSET, SCRIPT_ASSET, STYLE_ASSET } from "../assets.js";
import { type Html, html } from "../html.js";
import type { DashboardCatalog } from "../messages.js";

/** Where the dashboard lives and what language it speaks, for one request. */
export interface PageContext {
  readonly base: string;
  readonly api: string;
  readonly locale: Locale;
  readonly catalog: DashboardCatalog;
}

export interface PageOptions {
  readonly title: string;
  /** Tells the page's script what to start (`data-page`). */
  readonly page: "list" | "detail" | "create" | "error";
  readonly body: Html;
  /** More `data-` attributes of `<body>`, read by the page's script. */
  readonly data?: Readonly<Record<string, string>>;
  /** Leave out the header's links (pages shown before anyone signed in). */
  readonly bare?: boolean;
}

/** A complete document: one stylesheet, one deferred script, no inline script or style. */
export function layout(ctx: PageContext, options: PageOptions): Html {
  const data = Object.entries(options.data ?? {}).map(([name, value]) => html` data-${name}="${value}"`);
  const header = options.bare
    ? html`<header class="top"><span>${ctx.catalog.title}</span></header>`
    : html`<header class="top">
        <a href="${ctx.base}/">${ctx.catalog.title}</a><span class="spacer"></span>
        <a class="button" href="${ctx.base}/new/">${ctx.catalog.newBroadcast}</a>
      </header>`;
  return html`<!doctype html>
<html lang="${ctx.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${options.title} · broadcastkit</title>
<link rel="icon" href="${ctx.base}/assets/${ICON_ASSET.name}" type="image/svg+xml">
<link rel="stylesheet" href="${ctx.base}/assets/${STYLE_ASSET.name}">
<script defer src="${ctx.base}/assets/${SCRIPT_ASSET.name}"></script>
</head>
<body data-page="${options.page}" data-base="${ctx.base}" data-api="${ctx.api}" data-locale="${ctx.locale}"${data}>
${header}
<main>
${options.body}
</main>
</body>
</html>
`;
}

/** A timestamp the page's script shows in the browser's zone; UTC until then. */
export function timeTag(value: Date | null, field?: string): Html {
  const iso = value === null ? "" : value.toISOString();
  const text = value === null ? "" : `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
  return field === undefined
    ? html`<time datetime="${iso}">${text}</time>`
    : html`<time data-field="${field}" datetime="${iso}">${text}</time>`;
}

export function statusBadge(ctx: PageContext, status: keyof DashboardCatalog["status"], field = false): Html {
  return field
    ? html`<span class="badge badge-${status}" data-field="status">${ctx.catalog.status[status]}</span>`
    : html`<span class="badge badge-${status}">${ctx.catalog.status[status]}</span>`;
}

/** A link to the same page with other query parameters; empty values are left out. */
export function pageLink(
  path: string,
  query: Readonly<Record<string, string | readonly string[] | undefined>>,
): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const one of typeof value === "string" ? [value] : value) if (one !== "") params.append(name, one);
  }
  const search = params.toString();
  return search === "" ? path : `${path}?${search}`;
}
