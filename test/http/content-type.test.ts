import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, type Harness, snapshot, startHarness, TOKEN } from "./harness.js";

const CREATE = JSON.stringify({ message: "Hi", recipients: [{ recipient_id: 1, chat_id: 1 }] });

describe("the Content-Type of a body", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  /** A raw request, so the test alone decides which headers go out. */
  const post = (path: string, body: string | undefined, contentType: string | null, auth = true) => {
    const headers = new Headers();
    if (auth) headers.set("authorization", `Bearer ${TOKEN}`);
    // A Uint8Array body makes fetch add no Content-Type of its own.
    const bytes = body === undefined ? undefined : new TextEncoder().encode(body);
    if (contentType !== null) headers.set("content-type", contentType);
    return fetch(`${h.url}${path}`, {
      method: "POST",
      headers,
      ...(bytes === undefined ? {} : { body: bytes }),
    });
  };

  it.each([
    ["text/plain (what <form enctype=text/plain> sends)", "text/plain"],
    ["text/plain with a charset", "text/plain;charset=UTF-8"],
    ["a form encoding", "application/x-www-form-urlencoded"],
    ["multipart", "multipart/form-data; boundary=x"],
    ["a +json type this API does not implement", "application/merge-patch+json"],
    ["a look-alike", "application/jsonp"],
    ["no Content-Type at all", null],
  ])("refuses a JSON body sent as %s with 415, and creates nothing", async (_, contentType) => {
    const response = await post(`${BASE}/`, CREATE, contentType);

    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({
      success: false,
      error: {
        code: "unsupported_media_type",
        message: "Request body must be JSON, sent with Content-Type: application/json",
      },
    });
    expect((await h.service.list())._unsafeUnwrap().items).toEqual([]);
  });

  it.each([
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON;Charset=UTF-8",
    " application/json ",
  ])("accepts %j", async (contentType) => {
    const response = await post(`${BASE}/`, CREATE, contentType);
    expect(response.status).toBe(201);
  });

  it("refuses a non-JSON body on actions too, and changes nothing", async () => {
    const id = await h.createBroadcast(1);
    const before = await snapshot(h.service);

    for (const action of ["send", "pause", "resume", "unschedule", "cancel", "schedule", "retry"]) {
      const response = await post(`${BASE}/${id}/${action}/`, '{"include_permanent": true}', "text/plain");
      expect(response.status).toBe(415);
    }
    expect(await snapshot(h.service)).toBe(before);
  });

  it("needs no Content-Type on an action sent without a body", async () => {
    const id = await h.createBroadcast(1);
    expect((await post(`${BASE}/${id}/send/`, undefined, null)).status).toBe(200);
    expect((await post(`${BASE}/${id}/pause/`, "", "text/plain")).status).toBe(200);
    expect((await post(`${BASE}/${id}/cancel/`, undefined, null)).status).toBe(200);
  });

  it("is checked after authorization: an anonymous client learns nothing", async () => {
    const response = await post(`${BASE}/`, CREATE, "text/plain", false);
    expect(response.status).toBe(401);
  });

  it("is refused in the handler's language", async () => {
    const russian = await startHarness({ handler: { locale: "ru" } });
    try {
      const refused = await fetch(`${russian.url}${BASE}/`, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "text/plain" },
        body: CREATE,
      });
      expect(refused.status).toBe(415);
      expect((await refused.json()).error.message).toBe(
        "Тело запроса должно быть в JSON и отправлено с Content-Type: application/json",
      );
    } finally {
      await russian.close();
    }
  });
});
