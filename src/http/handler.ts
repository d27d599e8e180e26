import type { Logger } from "../ports/logger.js";
import { silentLogger } from "../service/defaults.js";
import type { BroadcastService } from "../service/types.js";
import { type HttpError, internalError, isServerFault } from "./errors.js";
import { type LocaleOption, resolveLocale } from "./locale.js";
import { MESSAGES } from "./messages.js";
import { runOperation } from "./operations.js";
import { errorResponse } from "./responses.js";
import { matchRoute, normalizeBasePath } from "./routes.js";

/** What `authorize` decides about a request: only `"allow"` reaches the service. */
export type AuthDecision = "allow" | "unauthenticated" | "forbidden";

/**
 * Decides who may use the admin API (the seed's `IsAdminUser`). It must not read the body: the
 * handler reads it afterwards. With cookie sessions it should also check `Origin`, since a form
 * on another site can POST to `…/cancel/` without a body.
 */
export type Authorize = (request: Request) => AuthDecision | Promise<AuthDecision>;

export interface HttpHandlerOptions {
  readonly service: BroadcastService;
  /** Required in practice: without it every request is refused with 401. */
  readonly authorize?: Authorize;
  /** Where the API is mounted; default `/api/admin/broadcasts`. */
  readonly basePath?: string;
  /** Language of messages: `"en"` (default), `"ru"`, or chosen per request. */
  readonly locale?: LocaleOption;
  /** Bodies longer than this are refused with 413; default 1,000,000 bytes. */
  readonly maxBodyBytes?: number;
  /** Where causes of 500s go; they never reach the client. */
  readonly logger?: Logger;
  /** How often the progress stream re-reads progress; default 500 ms. */
  readonly streamPollMs?: number;
}

export type HttpHandler = (request: Request) => Promise<Response>;

export const DEFAULT_BASE_PATH = "/api/admin/broadcasts";
export const DEFAULT_MAX_BODY_BYTES = 1_000_000;
export const DEFAULT_STREAM_POLL_MS = 500;

const refuseEveryone: Authorize = () => "unauthenticated";

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new TypeError(`${name} must be a positive integer: ${value}`);
  return value;
}

/**
 * The admin API as a Fetch-standard handler: mount it in Node (`@hono/node-server`), Bun, Deno,
 * Hono or a Next.js route handler. Every failure is answered in the envelope
 * `{"success": false, "error": {"code", "message"}}`; nothing it is sent makes it throw.
 */
export function createHttpHandler(options: HttpHandlerOptions): HttpHandler {
  const { service } = options;
  const basePath = normalizeBasePath(options.basePath ?? DEFAULT_BASE_PATH);
  const maxBodyBytes = positiveInteger("maxBodyBytes", options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const streamPollMs = positiveInteger("streamPollMs", options.streamPollMs ?? DEFAULT_STREAM_POLL_MS);
  const logger = options.logger ?? silentLogger;
  const locale = options.locale ?? "en";
  const authorize = options.authorize ?? refuseEveryone;
  if (options.authorize === undefined) {
    safeLog(logger, "warn", {}, "createHttpHandler has no authorize: every request will be refused with 401");
  }

  return async (request) => {
    const catalog = MESSAGES[resolveLocale(locale, request)];
    // Only the path is logged: a query string may carry a token.
    let path = "";
    const reportFault = (error: HttpError) => {
      if (isServerFault(error)) {
        safeLog(
          logger,
          "error",
          { err: error.cause, method: request.method, path },
          "admin API request failed",
        );
      }
    };
    try {
      const url = new URL(request.url);
      path = url.pathname;

      const decision = await authorize(request);
      if (decision !== "allow") {
        if (decision === "unauthenticated" || decision === "forbidden") {
          return errorResponse({ type: decision }, catalog);
        }
        throw new TypeError(
          `authorize returned ${String(decision)}; expected "allow", "unauthenticated" or "forbidden"`,
        );
      }

      const match = matchRoute(basePath, url.pathname, request.method);
      if (match.type === "no_route") {
        return errorResponse(
          { type: "route_not_found", method: request.method, path: url.pathname },
          catalog,
        );
      }
      if (match.type === "method_not_allowed") {
        return errorResponse(
          { type: "method_not_allowed", method: request.method, allowed: match.allowed },
          catalog,
        );
      }

      const result = await runOperation(match.operation, {
        service,
        request,
        url,
        idSegment: match.idSegment,
        catalog,
        basePath,
        maxBodyBytes,
        streamPollMs,
        reportFault,
      });
      if (result.isOk()) return result.value;
      reportFault(result.error);
      return errorResponse(result.error, catalog);
    } catch (cause) {
      const error = internalError(cause);
      reportFault(error);
      return errorResponse(error, catalog);
    }
  };
}

/** The logger port says logging must not throw; if a host's does anyway, the request still gets its answer. */
function safeLog(logger: Logger, level: "warn" | "error", fields: object, message: string): void {
  try {
    logger[level](fields, message);
  } catch {
    // Nothing more can be done about a failing logger here.
  }
}
