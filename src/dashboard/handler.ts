import { formatBroadcastError } from "../core/format-error.js";
import { BROADCAST_MESSAGES } from "../core/messages.js";
import {
  BROADCAST_STATUSES,
  type BroadcastStatus,
  RECIPIENT_STATUSES,
  type RecipientStatus,
} from "../core/types.js";
import { type Authorize, createHttpHandler, type HttpHandler } from "../http/handler.js";
import { type LocaleOption, resolveLocale } from "../http/locale.js";
import { MESSAGES } from "../http/messages.js";
import { errorResponse } from "../http/responses.js";
import { idSegmentSchema } from "../http/schemas.js";
import type { Logger } from "../ports/logger.js";
import { silentLogger } from "../service/defaults.js";
import type { BroadcastService } from "../service/types.js";
import { findAsset } from "./assets.js";
import type { Html } from "./html.js";
import { DASHBOARD_MESSAGES } from "./messages.js";
import { createPage } from "./pages/create-page.js";
import { detailPage } from "./pages/detail-page.js";
import { errorPage } from "./pages/error-page.js";
import type { PageContext } from "./pages/layout.js";
import { listPage } from "./pages/list-page.js";
import { refuseCrossSite, SECURITY_HEADERS } from "./security.js";

export interface DashboardOptions {
  readonly service: BroadcastService;
  /**
   * The same check as the admin API's (`broadcastkit/http`): every page, file and API call goes
   * through it first, and nothing is shown to anyone it does not `"allow"`. Without it everyone
   * is refused. The browser's `EventSource` cannot send headers: use a cookie session or HTTP
   * Basic authentication (see `challenge`), which the browser sends by itself.
   */
  readonly authorize?: Authorize;
  /** Where the dashboard is mounted; default `/admin/broadcasts`. Its API answers under `{basePath}/api/`. */
  readonly basePath?: string;
  /** `"en"` (default), `"ru"`, or chosen per request (`localeFromAcceptLanguage`). */
  readonly locale?: LocaleOption;
  /** Receives the cause of every server fault; people only see that something went wrong. */
  readonly logger?: Logger;
  /**
   * Sent as `WWW-Authenticate` with every 401, e.g. `Basic realm="broadcasts"`, so a browser asks
   * for a user name and password. Leave it out with cookie sessions.
   */
  readonly challenge?: string;
  /** Passed to the admin API the dashboard mounts (see `HttpHandlerOptions`). */
  readonly maxBodyBytes?: number;
  /** How often the progress stream re-reads progress; default 500 ms. */
  readonly streamPollMs?: number;
}

export type DashboardHandler = (request: Request) => Promise<Response>;

export const DEFAULT_DASHBOARD_PATH = "/admin/broadcasts";
/** Rows per page of broadcasts and of recipients. */
export const DASHBOARD_PAGE_SIZE = 25;
const MAX_CURSOR_LENGTH = 200;
const MAX_BACK_STEPS = 20;

const allowEveryone: Authorize = () => "allow";
/** The API's answers are data for this origin's pages only: no other site may embed or sniff them. */
const API_HEADERS = {
  "x-content-type-options": "nosniff",
  "cross-origin-resource-policy": "same-origin",
};
const refuseEveryone: Authorize = () => "unauthenticated";

function basePathOf(path: string): string {
  if (!path.startsWith("/")) throw new TypeError(`basePath must start with "/": ${path}`);
  return path.replace(/\/+$/, "");
}

/** The path's segments after the base (one trailing slash allowed); `null` when not under it. */
function segmentsUnder(base: string, pathname: string): string[] | null {
  if (pathname !== base && !pathname.startsWith(`${base}/`)) return null;
  const rest = pathname.slice(base.length).replace(/^\//, "").replace(/\/$/, "");
  if (rest === "") return [];
  const segments = rest.split("/");
  return segments.includes("") ? null : segments;
}

const cursorOf = (value: string | null): string | undefined =>
  value !== null && value !== "" && value.length <= MAX_CURSOR_LENGTH ? value : undefined;

const backOf = (params: URLSearchParams): string[] =>
  params
    .getAll("back")
    .filter((cursor) => cursor !== "" && cursor.length <= MAX_CURSOR_LENGTH)
    .slice(-MAX_BACK_STEPS);

const isStatus = (value: string | null): value is BroadcastStatus =>
  (BROADCAST_STATUSES as readonly (string | null)[]).includes(value);
const isRecipientStatus = (value: string | null): value is RecipientStatus =>
  (RECIPIENT_STATUSES as readonly (string | null)[]).includes(value);

/**
 * The dashboard as a Fetch-standard handler: pages, their script and stylesheet (served from
 * memory, nothing fetched from elsewhere) and the admin API they call, all behind one `authorize`.
 * Mount it like `broadcastkit/http`: `serve({ fetch: dashboard })`, a Hono wildcard route, a
 * Next.js catch-all route handler.
 */
export function createDashboardHandler(options: DashboardOptions): DashboardHandler {
  const { service } = options;
  const base = basePathOf(options.basePath ?? DEFAULT_DASHBOARD_PATH);
  const apiBase = `${base}/api`;
  const logger = options.logger ?? silentLogger;
  const localeOption = options.locale ?? "en";
  const authorize = options.authorize ?? refuseEveryone;
  // The dashboard has already asked `authorize` by the time a call reaches its API.
  const api: HttpHandler = createHttpHandler({
    service,
    authorize: allowEveryone,
    basePath: apiBase,
    locale: localeOption,
    logger,
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    ...(options.streamPollMs === undefined ? {} : { streamPollMs: options.streamPollMs }),
  });
  const challenge: Record<string, string> =
    options.challenge === undefined ? {} : { "www-authenticate": options.challenge };

  const report = (cause: unknown, request: Request, path: string) => {
    try {
      logger.error({ err: cause, method: request.method, path }, "dashboard request failed");
    } catch {
      // A failing logger must not fail the answer.
    }
  };

  const page = (request: Request, body: Html, status = 200, headers: Record<string, string> = {}) =>
    new Response(request.method === "HEAD" ? null : body.toString(), {
      status,
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
        ...SECURITY_HEADERS,
        ...headers,
      },
    });

  return async (request) => {
    const locale = resolveLocale(localeOption, request);
    const ctx: PageContext = { base, api: apiBase, locale, catalog: DASHBOARD_MESSAGES[locale] };
    const { pages } = ctx.catalog;
    let path = "";
    try {
      const url = new URL(request.url);
      path = url.pathname;
      const segments = segmentsUnder(base, url.pathname);
      const decision = await authorize(request);
      if (decision !== "allow") {
        if (decision !== "unauthenticated" && decision !== "forbidden") {
          throw new TypeError(`authorize returned ${String(decision)}`);
        }
        const headers =
          decision === "unauthenticated" ? { ...SECURITY_HEADERS, ...challenge } : SECURITY_HEADERS;
        if (segments?.[0] === "api")
          return withHeaders(errorResponse({ type: decision }, MESSAGES[locale]), headers);
        return decision === "unauthenticated"
          ? page(
              request,
              errorPage(ctx, pages.unauthenticated, pages.unauthenticatedHelp, false),
              401,
              challenge,
            )
          : page(request, errorPage(ctx, pages.forbidden, pages.forbidden, false), 403);
      }
      if (segments === null) return page(request, errorPage(ctx, pages.notFound, url.pathname, true), 404);

      if (segments[0] === "api") {
        const refusal = refuseCrossSite(request);
        if (refusal === null) return withHeaders(await api(request), API_HEADERS);
        const error =
          refusal === "not_json"
            ? ({ type: "unsupported_media_type", contentType: request.headers.get("content-type") } as const)
            : ({ type: "forbidden" } as const);
        return withHeaders(errorResponse(error, MESSAGES[locale]), SECURITY_HEADERS);
      }

      if (request.method !== "GET" && request.method !== "HEAD") {
        return page(
          request,
          errorPage(ctx, pages.methodNotAllowed, `${request.method} ${url.pathname}`, true),
          405,
          {
            allow: "GET, HEAD",
          },
        );
      }

      const [first, ...more] = segments;
      if (first === "assets" && more.length === 1) {
        const asset = findAsset(more[0] ?? "");
        if (asset === undefined)
          return page(request, errorPage(ctx, pages.notFound, url.pathname, true), 404);
        return new Response(request.method === "HEAD" ? null : asset.body, {
          headers: {
            "content-type": asset.contentType,
            "cache-control": "private, max-age=31536000, immutable",
            ...SECURITY_HEADERS,
          },
        });
      }
      if (first === undefined) {
        const status = url.searchParams.get("status");
        const cursor = cursorOf(url.searchParams.get("cursor"));
        const listed = await service.list({
          limit: DASHBOARD_PAGE_SIZE,
          ...(isStatus(status) ? { status } : {}),
          ...(cursor === undefined ? {} : { cursor }),
        });
        if (listed.isErr()) return failure(request, ctx, listed.error);
        return page(
          request,
          listPage(ctx, {
            page: listed.value,
            status: isStatus(status) ? status : undefined,
            cursor,
            back: cursor === undefined ? [] : backOf(url.searchParams),
          }),
        );
      }
      if (first === "new" && more.length === 0) return page(request, createPage(ctx));
      const id = idSegmentSchema.safeParse(first);
      if (id.success && more.length === 0) {
        const found = await service.get(id.data);
        if (found.isErr()) return failure(request, ctx, found.error);
        const requested = url.searchParams.get("state");
        const state: RecipientStatus | undefined = isRecipientStatus(requested)
          ? requested
          : requested === "all" || found.value.failedCount === 0
            ? undefined
            : "failed";
        const cursor = cursorOf(url.searchParams.get("cursor"));
        const recipients = await service.listRecipients(id.data, {
          limit: DASHBOARD_PAGE_SIZE,
          ...(state === undefined ? {} : { status: state }),
          ...(cursor === undefined ? {} : { cursor }),
        });
        if (recipients.isErr()) return failure(request, ctx, recipients.error);
        return page(
          request,
          detailPage(ctx, {
            broadcast: found.value,
            recipients: recipients.value,
            state,
            cursor,
            back: cursor === undefined ? [] : backOf(url.searchParams),
            pageSize: DASHBOARD_PAGE_SIZE,
          }),
        );
      }
      return page(request, errorPage(ctx, pages.notFound, url.pathname, true), 404);
    } catch (cause) {
      report(cause, request, path);
      return page(request, errorPage(ctx, pages.internal, "", false), 500);
    }
  };

  /** A service refusal as a page: a missing broadcast is a 404, a bad cursor a 400, the rest a 500. */
  function failure(
    request: Request,
    ctx: PageContext,
    error: Parameters<typeof formatBroadcastError>[0],
  ): Response {
    const { pages } = ctx.catalog;
    if (error.type === "not_found") {
      const text = BROADCAST_MESSAGES[ctx.locale].broadcastNotFound(error.broadcastId);
      return page(request, errorPage(ctx, pages.notFound, text, true), 404);
    }
    if (error.type === "validation") {
      return page(
        request,
        errorPage(ctx, pages.notFound, formatBroadcastError(error, { locale: ctx.locale }), true),
        400,
      );
    }
    report(error.type === "storage" ? error.cause : error, request, new URL(request.url).pathname);
    return page(request, errorPage(ctx, pages.internal, "", true), 500);
  }
}

/** The same answer with more headers (the admin API's own answers are immutable once made). */
function withHeaders(response: Response, headers: Readonly<Record<string, string>>): Response {
  const merged = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) merged.set(name, value);
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: merged,
  });
}
