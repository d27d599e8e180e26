import { createBroadcastService } from "broadcastkit";
import {
  CONTENT_SECURITY_POLICY,
  createDashboardHandler,
  type DashboardOptions,
  localeFromAcceptLanguage,
} from "broadcastkit/dashboard";
import { createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { describe, expect, it } from "vitest";
import { actionAllowed, DASHBOARD_ACTIONS } from "../../src/dashboard/actions.js";

const ORIGIN = "http://admin.test";
const BASE = "/admin/broadcasts";

function dashboard(options: Partial<DashboardOptions> = {}) {
  const service = createBroadcastService({ store: createMemoryStore(), queue: createMemoryQueue() });
  const handler = createDashboardHandler({ service, authorize: () => "allow", ...options });
  const request = (path: string, init: RequestInit = {}) => handler(new Request(`${ORIGIN}${path}`, init));
  const create = async (text = "Hello", count = 2) =>
    (
      await service.create({
        message: { text },
        recipients: Array.from({ length: count }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i })),
      })
    )._unsafeUnwrap().id;
  return { service, handler, request, create };
}

const assetPaths = (page: string) =>
  [...page.matchAll(/(?:href|src)="([^"]*\/assets\/[^"]+)"/g)].map((m) => m[1] ?? "");

describe("who may see the dashboard", () => {
  it("shows nothing to the signed-out: pages, files and the API answer 401, with the challenge when one is set", async () => {
    const { request, create } = dashboard({
      authorize: () => "unauthenticated",
      challenge: 'Basic realm="ops"',
    });
    const id = await create("Top secret");
    const signedIn = dashboard();
    const page = await (await signedIn.request(`${BASE}/`)).text();
    for (const path of [
      `${BASE}/`,
      `${BASE}/${id}/`,
      `${BASE}/new/`,
      ...assetPaths(page),
      `${BASE}/api/${id}/`,
    ]) {
      const answer = await request(path);
      expect(answer.status, path).toBe(401);
      expect(answer.headers.get("www-authenticate"), path).toBe('Basic realm="ops"');
      expect(await answer.text(), path).not.toMatch(/Top secret|uPlot|<table/);
    }
  });

  it("answers 403 to those it forbids, and refuses everyone when no authorize is given", async () => {
    expect((await dashboard({ authorize: () => "forbidden" }).request(`${BASE}/`)).status).toBe(403);
    const { service } = dashboard();
    const none = createDashboardHandler({ service });
    expect((await none(new Request(`${ORIGIN}${BASE}/`))).status).toBe(401);
  });

  it("turns an authorize that throws into a 500 that says nothing of the cause", async () => {
    const { request } = dashboard({
      authorize: () => {
        throw new Error("db password hunter2");
      },
    });
    const answer = await request(`${BASE}/`);
    expect(answer.status).toBe(500);
    expect(await answer.text()).not.toContain("hunter2");
  });
});

describe("what the browser is told", () => {
  it("sends a strict Content-Security-Policy and no inline script or style with every page", async () => {
    const { request, create } = dashboard();
    const id = await create();
    for (const path of [`${BASE}/`, `${BASE}/new/`, `${BASE}/${id}/`]) {
      const answer = await request(path);
      expect(answer.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
      expect(answer.headers.get("cache-control")).toBe("no-store");
      const page = await answer.text();
      expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    }
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("require-trusted-types-for 'script'");
  });

  it("serves its files under names that change with their content, to be kept for good; others are 404", async () => {
    const { request } = dashboard();
    const paths = assetPaths(await (await request(`${BASE}/`)).text());
    expect(paths.map((path) => path.replace(/\.[0-9a-f]{16}\./, ".HASH."))).toEqual([
      `${BASE}/assets/icon.svg`,
      `${BASE}/assets/dashboard.HASH.css`,
      `${BASE}/assets/dashboard.HASH.js`,
    ]);
    for (const path of paths) {
      const answer = await request(path);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("cache-control")).toContain("immutable");
    }
    expect((await request(`${BASE}/assets/dashboard.0000000000000000.js`)).status).toBe(404);
    const head = await request(paths[2] ?? "", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("speaks the language the option picks", async () => {
    const { request } = dashboard({ locale: localeFromAcceptLanguage });
    const page = await (
      await request(`${BASE}/`, { headers: { "accept-language": "ru-RU,ru;q=0.9" } })
    ).text();
    expect(page).toContain('<html lang="ru">');
    expect(page).toContain("<h1>Рассылки</h1>");
    expect(await (await request(`${BASE}/`)).text()).toContain("<h1>Broadcasts</h1>");
  });
});

describe("the API the pages call, under {base}/api/", () => {
  it("refuses a state-changing call that is not JSON, even without a body, and changes nothing", async () => {
    const { request, service, create } = dashboard();
    const id = await create();
    const bare = await request(`${BASE}/api/${id}/cancel/`, { method: "POST" });
    expect(bare.status).toBe(415);
    const form = await request(`${BASE}/api/${id}/cancel/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "a=1",
    });
    expect(form.status).toBe(415);
    expect((await service.get(id))._unsafeUnwrap().status).toBe("draft");
  });

  it("refuses a call the browser says came from another site", async () => {
    const { request, service, create } = dashboard();
    const id = await create();
    const answer = await request(`${BASE}/api/${id}/cancel/`, {
      method: "POST",
      headers: { "content-type": "application/json", "sec-fetch-site": "cross-site" },
      body: "{}",
    });
    expect(answer.status).toBe(403);
    expect((await service.get(id))._unsafeUnwrap().status).toBe("draft");
  });

  it("runs the page's own JSON calls", async () => {
    const { request, service, create } = dashboard();
    const id = await create();
    const answer = await request(`${BASE}/api/${id}/cancel/`, {
      method: "POST",
      headers: { "content-type": "application/json", "sec-fetch-site": "same-origin" },
      body: "{}",
    });
    expect(answer.status).toBe(200);
    expect((await answer.json()).data.message).toBe("Broadcast cancelled");
    expect((await service.get(id))._unsafeUnwrap().status).toBe("cancelled");
    const read = await request(`${BASE}/api/${id}/`);
    expect((await read.json()).data.status).toBe("cancelled");
    expect(read.headers.get("cross-origin-resource-policy")).toBe("same-origin");
  });
});

describe("pages", () => {
  it("lists broadcasts 25 a page, newest first, with links forward and back, filtered by status", async () => {
    const { request, service, create } = dashboard();
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push(await create(`Broadcast number ${i}`, 1));
    await service.cancel(ids[0] ?? 0);
    const rowsOf = (page: string) =>
      [...page.matchAll(/<tr data-broadcast="([0-9]+)">/g)].map((m) => Number(m[1]));
    const first = await (await request(`${BASE}/`)).text();
    expect(rowsOf(first)).toEqual(ids.slice(5).reverse());
    const next = /<a rel="next" href="([^"]+)">/.exec(first)?.[1]?.replaceAll("&amp;", "&") ?? "";
    const second = await (await request(next)).text();
    expect(rowsOf(second)).toEqual(ids.slice(0, 5).reverse());
    expect(second).not.toContain('rel="next"');
    expect(second).toContain('rel="prev"');
    const cancelled = await (await request(`${BASE}/?status=cancelled`)).text();
    expect(rowsOf(cancelled)).toEqual([ids[0]]);
    expect(cancelled).toContain('aria-current="page">Cancelled</a>');
  });

  it("says a broadcast is not found, and a bad page cursor is a 400, in pages of their own", async () => {
    const { request, create } = dashboard();
    const missing = await request(`${BASE}/999/`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain("Broadcast 999 not found");
    expect((await request(`${BASE}/?cursor=zz-not-a-cursor`)).status).toBe(400);
    const id = await create();
    expect((await request(`${BASE}/${id}/?cursor=nope`)).status).toBe(400);
    expect((await request(`${BASE}/nothing/here/`)).status).toBe(404);
    expect((await request("/elsewhere/")).status).toBe(404);
  });

  it("answers 405 to anything but GET and HEAD on a page", async () => {
    const { request } = dashboard();
    const answer = await request(`${BASE}/new/`, { method: "POST", body: "message=hi" });
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe("GET, HEAD");
  });

  it("offers each action exactly where the service's transition rules allow it", async () => {
    const { request, service, create } = dashboard();
    const offered = async (id: number) => {
      const page = await (await request(`${BASE}/${id}/`)).text();
      return DASHBOARD_ACTIONS.filter((action) => {
        const button = new RegExp(`<button[^>]*id="action-${action}"[^>]*>`).exec(page)?.[0] ?? "";
        return !button.includes(" disabled");
      });
    };
    const draft = await create();
    expect(await offered(draft)).toEqual(["start", "schedule", "cancel"]);
    const scheduled = await create();
    await service.schedule(scheduled, new Date(Date.now() + 3_600_000));
    expect(await offered(scheduled)).toEqual(["start", "unschedule", "cancel"]);
    const cancelled = await create();
    await service.cancel(cancelled);
    expect(await offered(cancelled)).toEqual([]);
    expect(DASHBOARD_ACTIONS.filter((action) => actionAllowed(action, "sending"))).toEqual([
      "pause",
      "cancel",
    ]);
    expect(DASHBOARD_ACTIONS.filter((action) => actionAllowed(action, "paused"))).toEqual([
      "resume",
      "cancel",
    ]);
    expect(DASHBOARD_ACTIONS.filter((action) => actionAllowed(action, "completed"))).toEqual(["retry"]);
    expect(DASHBOARD_ACTIONS.filter((action) => actionAllowed(action, "failed"))).toEqual(["retry"]);
    expect(DASHBOARD_ACTIONS.filter((action) => actionAllowed(action, "sent"))).toEqual([]);
  });
});
