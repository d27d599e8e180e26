import { createBroadcastService } from "broadcastkit";
import { createHttpHandler, type HttpHandler } from "broadcastkit/http";
import { createMemoryQueue, createMemoryStore } from "broadcastkit/memory";
import { Hono } from "hono";
import { mount } from "hono/mount";
import { describe, expect, it } from "vitest";

const BASE = "/api/admin/broadcasts";

function adminHandler(): HttpHandler {
  const service = createBroadcastService({ store: createMemoryStore(), queue: createMemoryQueue() });
  return createHttpHandler({ service, authorize: () => "allow" });
}

/** The ways docs/http.md mounts the handler in Hono; each hands it the request as the client sent it. */
const MOUNTS: readonly [string, (handler: HttpHandler) => Hono][] = [
  ["app.all with a wildcard route", (handler) => new Hono().all(`${BASE}/*`, (c) => handler(c.req.raw))],
  [
    "app.mount with replaceRequest: false",
    (handler) => new Hono().mount(BASE, handler, { replaceRequest: false }),
  ],
  [
    "hono/mount with replaceRequest: false",
    (handler) => new Hono().all(`${BASE}/*`, mount(handler, { replaceRequest: false })),
  ],
];

describe.each(MOUNTS)("mounted in Hono by %s", (_, mountIn) => {
  const json = { "content-type": "application/json" };
  const body = JSON.stringify({ message: "Hi", recipients: [{ recipient_id: 1, chat_id: 1 }] });

  it.each([`${BASE}/`, BASE])("POST %s answers a Location the client can follow", async (path) => {
    const app = mountIn(adminHandler());

    const created = await app.request(path, { method: "POST", headers: json, body });

    expect(created.status).toBe(201);
    const { data } = await created.json();
    expect(created.headers.get("location")).toBe(`${BASE}/${data.id}/`);
    const followed = await app.request(created.headers.get("location") ?? "");
    expect(followed.status).toBe(200);
    expect((await followed.json()).data.id).toBe(data.id);
  });

  it("serves the other routes and names the full path in a 404", async () => {
    const app = mountIn(adminHandler());
    await app.request(`${BASE}/`, { method: "POST", headers: json, body });

    expect((await app.request(`${BASE}/1/progress`)).status).toBe(200);
    const missing = await app.request(`${BASE}/1/launch/`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.message).toBe(`No route for GET ${BASE}/1/launch/`);
  });
});
