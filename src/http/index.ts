export type { ErrorCode, HttpError } from "./errors.js";
export {
  type AuthDecision,
  type Authorize,
  createHttpHandler,
  DEFAULT_BASE_PATH,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_STREAM_POLL_MS,
  type HttpHandler,
  type HttpHandlerOptions,
} from "./handler.js";
export { type LocaleOption, localeFromAcceptLanguage } from "./locale.js";
export { LOCALES, type Locale, MESSAGES, type MessageCatalog } from "./messages.js";
