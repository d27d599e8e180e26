export type { AuthDecision, Authorize } from "../http/handler.js";
export { type LocaleOption, localeFromAcceptLanguage } from "../http/locale.js";
export {
  createDashboardHandler,
  DASHBOARD_PAGE_SIZE,
  type DashboardHandler,
  type DashboardOptions,
  DEFAULT_DASHBOARD_PATH,
} from "./handler.js";
export { DASHBOARD_MESSAGES, type DashboardCatalog } from "./messages.js";
export { CONTENT_SECURITY_POLICY } from "./security.js";
