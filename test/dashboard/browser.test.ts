import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { botAnswers } from "broadcastkit/testing";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserSession, launchChromium, type Visitor, visit } from "./browser.js";
import { BASE, type DashboardWorld, startDashboardWorld } from "./harness.js";

/*
 * The dashboard in a real headless Chromium (Debian's), against the real service on SQLite, the
 * real Telegram sender pacing at 30/s and a simulated Telegram (20 ms round trips, the demo's
 * failure mix by chat id: ...07 blocked, ...13 chat not found, ...29 a 502 once, ...33 deactivated
 * once). Every wait is for a condition, never for a fixed time.
 */

let world: DashboardWorld;
let chromium: BrowserSession;
const visitors: Visitor[] = [];

beforeAll(async () => {
  [world, chromium] = await Promise.all([startDashboardWorld(), launchChromium()]);
});

afterAll(async () => {
  await Promise.all(visitors.map((v) => v.close().catch(() => {})));
  await chromium?.close();
  await world?.close();
});

async function open(options: Parameters<typeof visit>[2] = {}): Promise<Visitor> {
  const visitor = await visit(chromium, world.origin, options);
  visitors.push(visitor);
  return visitor;
}

/** A CSV of `count` recipients; chat ids 800001… so the failure mix hits every 50th of each kind. */
function csv(count: number): string {
  const names = ["Ada", "Grace", "Linus"];
  const lines = ["recipient_id,chat_id,name,code"];
  for (let i = 1; i <= count; i++)
    lines.push(`${i},${800_000 + i},${names[i % 3]},${i % 2 === 0 ? `C-${i}` : ""}`);
  return `${lines.join("\n")}\n`;
}

/** Waits for a condition (never for a fixed time): generous, since the machine may be busy. */
const eventually = <T>(read: () => T | Promise<T>, timeout = 10_000) =>
  expect.poll(read, { timeout, interval: 50 });

const text = async (page: Page, selector: string) =>
  (await page.locator(selector).first().textContent()) ?? "";
const progressValue = (page: Page) =>
  page.locator("#progress").evaluate((bar) => (bar as HTMLProgressElement).value);

describe("the dashboard in Chromium", { timeout: 60_000 }, () => {
  it("shows nothing without credentials: pages, files and the API all answer 401", async () => {
    const secret = await world.create("Secret launch plan for {{name|everyone}}", 3);
    const { page, context } = await open({ signedIn: false });

    const list = await page.goto(`${world.url}/`);
    expect(list?.status()).toBe(401);
    expect(await page.locator("h1").textContent()).toBe("Sign in required");
    const body = (await page.locator("body").textContent()) ?? "";
    expect(body).not.toContain("Secret launch plan");
    expect(await page.locator("table, a[href*='/new']").count()).toBe(0);

    const detail = await page.goto(`${world.url}/${secret}/`);
    expect(detail?.status()).toBe(401);
    expect(await page.content()).not.toContain("Secret launch plan");

    const api = await context.request.get(`${world.url}/api/${secret}/`);
    expect(api.status()).toBe(401);
    expect(await api.text()).not.toContain("Secret");
    const stream = await context.request.get(`${world.url}/api/${secret}/progress/stream/`);
    expect(stream.status()).toBe(401);

    await context.addCookies([{ name: "bk_admin", value: "wrong", url: world.origin }]);
    const forbidden = await page.goto(`${world.url}/${secret}/`);
    expect(forbidden?.status()).toBe(403);
    expect(await page.content()).not.toContain("Secret launch plan");
  });

  it("creates a broadcast from an uploaded CSV, sends it live to 100 %, shows failures, and retries them", async () => {
    const { page, problems } = await open();
    const requests: string[] = [];
    page.on("request", (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));

    // Create: the preview renders the template for the chosen recipient, as the worker will.
    await page.goto(`${world.url}/new/`);
    await page.locator("#message").fill("Hi {{name}}, your code is {{code|none}}.");
    await page.locator("#csv-file").setInputFiles({
      name: "recipients.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(csv(90)),
    });
    await eventually(() => text(page, "#csv-summary")).toBe("90 recipients; variables: name, code");
    await page.locator("#preview-recipient").selectOption({ index: 1 });
    await eventually(() => text(page, "#preview")).toBe("Hi Linus, your code is C-2.");
    await page.locator("#preview-recipient").selectOption({ index: 0 });
    await eventually(() => text(page, "#preview")).toBe("Hi Grace, your code is none.");
    expect(await text(page, "#submit")).toBe("Create draft");
    await page.locator("#submit").click();
    await page.waitForURL(/\/admin\/broadcasts\/[0-9]+\/$/);
    const id = Number(/\/([0-9]+)\/$/.exec(page.url())?.[1]);
    expect(await text(page, '[data-field="status"]')).toBe("Draft");
    expect(await text(page, '[data-field="total_recipients"]')).toBe("90");
    const stored = (await world.service.listRecipients(id, { limit: 2 }))._unsafeUnwrap().items;
    expect(stored.map((r) => [r.recipientId, r.chatId, r.variables])).toEqual([
      [1, 800_001, { name: "Grace" }],
      [2, 800_002, { name: "Linus", code: "C-2" }],
    ]);
    await eventually(() => text(page, "#live")).toBe("Live");
    expect(await page.locator("#action-pause").isDisabled()).toBe(true);
    expect(await page.locator("#action-retry").isDisabled()).toBe(true);

    // Start: every value the bar takes comes from the progress stream.
    await page.locator("#progress").evaluate((bar) => {
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      new MutationObserver(() => seen.push((bar as HTMLProgressElement).value)).observe(bar, {
        attributes: true,
      });
    });
    requests.length = 0;
    await page.locator("#action-start").click();
    await page.waitForFunction(
      () => (document.querySelector("#progress") as HTMLProgressElement).value === 100,
      null,
      {
        timeout: 20_000,
      },
    );
    await eventually(() => text(page, '[data-field="status"]'), 10_000).toBe("Completed");
    await eventually(() => text(page, "#live")).toBe("Final");
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(seen.some((value) => value > 0 && value < 100)).toBe(true);
    expect(seen.at(-1)).toBe(100);
    expect(await text(page, "#progress-label")).toMatch(/^100 % processed · 9[0-9] % delivered$/);
    // No polling: the page asked for progress only through the stream it already had open.
    expect(requests.filter((r) => r.endsWith("/progress/"))).toEqual([]);
    expect(requests.filter((r) => r === `GET ${BASE}/${id}/`)).toEqual([]);

    // The rate chart drew the run; failures by reason are bars with their counts.
    expect(Number(await page.locator("#rate-chart").getAttribute("data-points"))).toBeGreaterThan(0);
    expect(await page.locator("#rate-chart canvas").count()).toBeGreaterThan(0);
    const bars = await page
      .locator("#failure-bars li")
      .evaluateAll((items) =>
        items.map((li) => [
          li.querySelector(".reason")?.textContent,
          li.querySelector(".count")?.textContent,
        ]),
      );
    expect(bars).toEqual([
      ["Bad Request: chat not found", "2"],
      ["Forbidden: bot was blocked by the user", "2"],
      ["Forbidden: user is deactivated", "2"],
    ]);
    expect(await text(page, '[data-field="failed_count"]')).toBe("6");
    expect(await text(page, '[data-field="error_summary"]')).toBe(
      "6 failed: Bad Request: chat not found (2), Forbidden: bot was blocked by the user (2), Forbidden: user is deactivated (2)",
    );

    // The table of recipients caught up when the run ended: states and last errors as they are now.
    const rowOf = (recipientId: string) =>
      page.locator("#recipient-table tbody tr", {
        has: page.locator(`td:first-child:text-is("${recipientId}")`),
      });
    await eventually(() => rowOf("7").locator(".badge").textContent()).toBe("Failed");
    expect(await rowOf("7").locator(".last-error").textContent()).toBe(
      "Forbidden: bot was blocked by the user (permanent)",
    );
    expect(await rowOf("8").locator(".badge").textContent()).toBe("Sent");
    expect(await page.locator("#recipients-stale").isVisible()).toBe(false);

    if (process.env.BROADCASTKIT_SCREENSHOT !== undefined) {
      mkdirSync(dirname(process.env.BROADCASTKIT_SCREENSHOT), { recursive: true });
      await page.setViewportSize({ width: 1200, height: 1280 });
      await page.screenshot({ path: process.env.BROADCASTKIT_SCREENSHOT });
    }

    // The failed recipients with their last error, filtered by the server.
    await page.locator("#recipients .filters a", { hasText: "Failed" }).click();
    await page.waitForURL(/state=failed/);
    const failedRows = await page
      .locator("#recipient-table tbody tr")
      .evaluateAll((rows) =>
        rows.map((row) => [
          row.children[0]?.textContent,
          row.querySelector(".last-error")?.textContent?.trim(),
        ]),
      );
    expect(failedRows).toEqual([
      ["7", "Forbidden: bot was blocked by the user (permanent)"],
      ["13", "Bad Request: chat not found (permanent)"],
      ["33", "Forbidden: user is deactivated (permanent)"],
      ["57", "Forbidden: bot was blocked by the user (permanent)"],
      ["63", "Bad Request: chat not found (permanent)"],
      ["83", "Forbidden: user is deactivated (permanent)"],
    ]);

    // Every recipient, 25 a page, forward and back.
    await page.locator("#recipients .filters a", { hasText: "All" }).click();
    await page.waitForURL(/state=all/);
    const firstIds = () => page.locator("#recipient-table tbody tr td:first-child").allTextContents();
    expect((await firstIds()).slice(0, 2)).toEqual(["1", "2"]);
    await page.locator("#recipients a[rel=next]").click();
    await page.waitForURL(/cursor=/);
    expect((await firstIds()).slice(0, 2)).toEqual(["26", "27"]);
    await page.locator("#recipients a[rel=next]").click();
    await eventually(async () => (await firstIds())[0]).toBe("51");
    await page.locator("#recipients a[rel=prev]").click();
    await eventually(async () => (await firstIds())[0]).toBe("26");

    // Retry with permanent failures: the deactivated chats are delivered this time.
    await page.locator("#recipients .filters a", { hasText: "Failed" }).click();
    await page.waitForURL(/state=failed/);
    await page.locator("#include-permanent").check();
    await page.locator("#action-retry").click();
    await eventually(() => text(page, "#action-notice")).toBe("Retry started for 6 recipients");
    await eventually(() => text(page, '[data-field="status"]'), 15_000).toBe("Completed");
    await eventually(() => text(page, '[data-field="failed_count"]'), 15_000).toBe("4");
    expect(await progressValue(page)).toBe(100);
    await expect
      .poll(() =>
        page
          .locator("#failure-bars li")
          .evaluateAll((items) => items.map((li) => li.querySelector(".count")?.textContent)),
      )
      .toEqual(["2", "2"]);
    expect(problems).toEqual([]);
  });

  it("cancels another broadcast mid-send after asking, and then offers nothing more", async () => {
    const id = await world.create("A long one", 400);
    const { page, problems } = await open();
    await page.goto(`${world.url}/${id}/`);
    await page.locator("#action-start").click();
    await eventually(() => text(page, '[data-field="status"]')).toBe("Sending");
    await eventually(
      async () => Number(await text(page, '[data-field="sent_count"]')),
      15_000,
    ).toBeGreaterThan(0);

    // Keeping it changes nothing.
    await page.locator("#action-cancel").click();
    await expect(page.locator("#confirm-cancel").isVisible()).resolves.toBe(true);
    expect(await text(page, "#confirm-cancel-text")).toMatch(
      /^Cancel broadcast [0-9]+\? [0-9]+ recipients? not sent yet/,
    );
    await page.getByRole("button", { name: "Keep it" }).click();
    expect(await page.locator("#confirm-cancel").isVisible()).toBe(false);
    expect(await text(page, '[data-field="status"]')).toBe("Sending");

    await page.locator("#action-cancel").click();
    await page.locator("#confirm-cancel-yes").click();
    await eventually(() => text(page, '[data-field="status"]')).toBe("Cancelled");
    expect(await text(page, "#action-notice")).toBe("Broadcast cancelled");
    await eventually(() => text(page, "#live")).toBe("Final");
    const progress = (await world.service.getProgress(id))._unsafeUnwrap();
    expect(progress.status).toBe("cancelled");
    expect(progress.cancelledCount).toBeGreaterThan(0);
    expect(progress.sentCount + progress.failedCount).toBeLessThan(400);
    expect(await text(page, '[data-field="cancelled_count"]')).toBe(String(progress.cancelledCount));
    for (const action of ["start", "schedule", "unschedule", "pause", "resume", "cancel", "retry"]) {
      expect(await page.locator(`#action-${action}`).isDisabled(), action).toBe(true);
    }
    expect(await page.locator("#action-pause").getAttribute("title")).toBe(
      "Not possible while the broadcast is cancelled",
    );
    expect(problems).toEqual([]);
  });

  it("schedules in the browser's time zone", async () => {
    const { page, problems } = await open({ timezoneId: "Asia/Tokyo" });
    await page.goto(`${world.url}/new/`);
    expect(await text(page, "#send-at-label")).toBe("Send at (your time zone, Asia/Tokyo)");
    await page.locator("#message").fill("See you at nine");
    await page.locator("#csv-text").fill("recipient_id,chat_id\nu-1,@news_channel\n");
    await eventually(() => text(page, "#csv-summary")).toBe("1 recipient");
    await page.locator("#send-at").fill("2031-03-01T09:30");
    expect(await text(page, "#submit")).toBe("Create and schedule");
    await page.locator("#submit").click();
    await page.waitForURL(/\/[0-9]+\/$/);
    const id = Number(/\/([0-9]+)\/$/.exec(page.url())?.[1]);
    const broadcast = (await world.service.get(id))._unsafeUnwrap();
    expect(broadcast.status).toBe("scheduled");
    expect(broadcast.scheduledAt?.toISOString()).toBe("2031-03-01T00:30:00.000Z");
    expect(await text(page, '[data-field="status"]')).toBe("Scheduled");
    expect(await text(page, 'time[data-field="scheduled_at"]')).toMatch(/^Mar 1, 2031, 9:30:00\sAM$/);
    expect(await page.locator("#action-unschedule").isDisabled()).toBe(false);
    expect(await page.locator("#action-pause").isDisabled()).toBe(true);
    expect(problems).toEqual([]);
  });

  it("speaks Russian to a Russian browser, the API's refusals included", async () => {
    const id = await world.create("Привет", 2);
    const { page, problems } = await open({ locale: "ru-RU" });
    await page.goto(`${world.url}/`);
    expect(await page.locator("h1").textContent()).toBe("Рассылки");
    expect(await text(page, `tr[data-broadcast="${id}"] .badge`)).toBe("Черновик");

    await page.goto(`${world.url}/${id}/`);
    expect(await text(page, "h1")).toContain("Рассылка");
    await page.locator("#schedule-at").fill("2001-01-01T10:00");
    await page.locator("#action-schedule").click();
    await eventually(() => text(page, "#action-error")).toMatch(/^Некорректные данные: scheduled_at: /);
    expect(await text(page, '[data-field="status"]')).toBe("Черновик");

    await page.goto(`${world.url}/new/`);
    await page.locator("#message").fill("Привет, {{name}}");
    await page.locator("#csv-text").fill("recipient_id,chat_id,name\n1,501,Аня\n2,501,Боря\n");
    await eventually(() => text(page, "#csv-summary")).toBe("2 получателя; переменные: name");
    await page.locator("#submit").click();
    await eventually(() => text(page, "#form-error")).toMatch(/^Некорректные данные: /);
    expect(await page.locator("#form-issues li").allTextContents()).toEqual([
      "Строка 3: chat_id: duplicate of recipients.0",
    ]);
    expect(problems).toEqual([]);
  });

  it("shows hostile message text and error descriptions as text", async () => {
    const hostile = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>`;
    world.telegram.answerChatAlways(900_001, botAnswers.badRequest(`${hostile} & "quotes"`));
    const id = await world.create(`Hello ${hostile} {{name|friend}}`, [
      { recipientId: "<b>r1</b>", chatId: 900_001, variables: { name: "<i>Eve</i>" } },
      { recipientId: 2, chatId: 900_002 },
    ]);
    (await world.service.start(id))._unsafeUnwrap();
    await eventually(async () => (await world.service.getProgress(id))._unsafeUnwrap().status, 15_000).toBe(
      "completed",
    );

    const { page, problems } = await open();
    await page.goto(`${world.url}/`);
    expect(await text(page, `tr[data-broadcast="${id}"] td.message`)).toBe(
      `Hello ${hostile} {{name|friend}}`,
    );
    await page.goto(`${world.url}/${id}/?state=failed`);
    expect(await text(page, "#message-text")).toBe(`Hello ${hostile} {{name|friend}}`);
    expect(await text(page, "#failure-bars .reason")).toBe(`Bad Request: ${hostile} & "quotes"`);
    expect(await text(page, "#recipient-table .last-error")).toContain(`Bad Request: ${hostile} & "quotes"`);
    expect(await text(page, "#recipient-table td")).toBe("<b>r1</b>");
    expect(await page.locator("main img, main script, main b, main i").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    // The create page's preview renders hostile values as text as well.
    await page.goto(`${world.url}/new/`);
    await page.locator("#message").fill("Hi {{name}}");
    await page
      .locator("#csv-text")
      .fill(`recipient_id,chat_id,name\n1,42,"${hostile.replaceAll('"', '""')}"\n`);
    await eventually(() => text(page, "#preview")).toBe(`Hi ${hostile}`);
    expect(await page.locator("main img, main script").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(problems).toEqual([]);
  });
});
