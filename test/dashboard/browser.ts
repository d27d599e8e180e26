import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";
import { onTestFailed } from "vitest";
import { SESSION, SESSION_COOKIE } from "./harness.js";

/** Debian's Chromium; `.ci/ensure-browser.sh` (run by `npm test`) installs it when missing. */
export const CHROMIUM = "/usr/bin/chromium";
const FAILURES = fileURLToPath(new URL("./.failures/", import.meta.url));

export interface BrowserSession {
  readonly browser: Browser;
  close(): Promise<void>;
}

/**
 * One headless Chromium for a test file. Playwright starts it on a fresh temporary profile
 * (user-data-dir) of its own and removes it on close.
 */
export async function launchChromium(): Promise<BrowserSession> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return { browser, close: () => browser.close() };
}

export interface Visitor {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Errors the page's scripts threw, and Content-Security-Policy violations it reported. */
  readonly problems: string[];
  close(): Promise<void>;
}

/**
 * A fresh browser profile (cookies, storage) visiting `origin`: signed in unless `signedIn` is
 * false. A failing test leaves a screenshot of the page in test/dashboard/.failures/.
 */
export async function visit(
  session: BrowserSession,
  origin: string,
  { signedIn = true, ...options }: BrowserContextOptions & { signedIn?: boolean } = {},
): Promise<Visitor> {
  const context = await session.browser.newContext({ viewport: { width: 1200, height: 900 }, ...options });
  if (signedIn) await context.addCookies([{ name: SESSION_COOKIE, value: SESSION, url: origin }]);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // A refused API call is logged by the browser too; the tests check those answers themselves.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console: ${message.text()}`);
    }
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  onTestFailed(async ({ task }) => {
    mkdirSync(FAILURES, { recursive: true });
    const name = task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 80);
    await page.screenshot({ path: join(FAILURES, `${name}.png`), fullPage: true }).catch(() => {});
  });
  return {
    context,
    page,
    problems,
    close: () => context.close(),
  };
}
