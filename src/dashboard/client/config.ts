import { isLocale, type Locale } from "../../core/messages.js";
import { DASHBOARD_MESSAGES, type DashboardCatalog } from "../messages.js";

/** What the server tells the page's code, as `data-` attributes of `<body>`. */
export interface PageConfig {
  readonly page: string;
  /** Where the dashboard is mounted, without a trailing slash. */
  readonly base: string;
  /** Where its admin API answers, without a trailing slash. */
  readonly api: string;
  readonly locale: Locale;
  readonly catalog: DashboardCatalog;
}

export function readConfig(body: HTMLElement): PageConfig {
  const { page = "", base = "", api = "", locale } = body.dataset;
  const language: Locale = isLocale(locale) ? locale : "en";
  return { page, base, api, locale: language, catalog: DASHBOARD_MESSAGES[language] };
}
