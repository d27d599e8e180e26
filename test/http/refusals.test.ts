import { type BroadcastError, type BroadcastService, conflict, leaseLost, storageError } from "broadcastkit";
import { createHttpHandler } from "broadcastkit/http";
import { errAsync } from "neverthrow";
import { afterEach, describe, expect, it } from "vitest";
import { BASE, type Harness, snapshot, startHarness } from "./harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(...args: Parameters<typeof startHarness>): Promise<Harness> {
  h = await startHarness(...args);
  return h;
}

/** A logger that keeps what it was given, to check where causes go. */
function recordingLogger() {
  const entries: { level: string; fields: object; message?: string | undefined }[] = [];
  const at =
    (level: string) =>
    (fields: object, message?: string): void => {
      entries.push({ level, fields, message });
    };
  return { entries, logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
}

describe("who may call", () => {
  it.each([
    ["no credentials", { anonymous: true }, 401, "unauthorized"],
    ["wrong credentials", { headers: { authorization: "Bearer nope" } }, 403, "forbidden"],
  ])("refuses %s with %i and changes nothing", async (_, options, status, code) => {
    const api = await harness();
    const id = await api.createBroadcast(2);
    const before = await snapshot(api.service);

    for (const [method, path, body] of [
      ["POST", `${BASE}/${id}/cancel/`, undefined],
      ["POST", `${BASE}/${id}/send/`, undefined],
      ["POST", `${BASE}/`, { message: "Hi", recipients: [] }],
      ["GET", `${BASE}/${id}/progress/`, undefined],
      ["GET", `${BASE}/no/such/route`, undefined],
    ] as const) {
      const answer = await api.api(method, path, { ...options, ...(body === undefined ? {} : { body }) });
      expect(answer.status).toBe(status);
      expect(answer.json).toEqual({ success: false, error: { code, message: expect.any(String) } });
    }
    expect(await snapshot(api.service)).toBe(before);
  });

  it("refuses everyone when the host gave no authorize", async () => {
    const api = await harness({ authorize: null });
    const { status, json } = await api.api("GET", `${BASE}/`);
    expect(status).toBe(401);
    expect(json.error.code).toBe("unauthorized");
  });

  it("answers 500 without detail when authorize throws, and logs why", async () => {
    const { entries, logger } = recordingLogger();
    const api = await harness({
      handler: { logger },
      authorize: () => {
        throw new Error("session store down: redis://:secret@cache");
      },
    });
    const { status, json } = await api.api("GET", `${BASE}/`);
    expect(status).toBe(500);
    expect(json).toEqual({ success: false, error: { code: "internal", message: "Internal server error" } });
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "error", fields: expect.objectContaining({ path: `${BASE}/` }) }),
    );
  });
});

describe("requests that fit no route", () => {
  it.each([
    ["DELETE", `${BASE}/1/`, "GET"],
    ["PUT", `${BASE}/`, "GET, POST"],
    ["GET", `${BASE}/1/cancel/`, "POST"],
    ["POST", `${BASE}/1/progress/`, "GET"],
    ["PATCH", `${BASE}/1/progress/stream/`, "GET"],
  ])("%s %s is 405 with Allow: %s", async (method, path, allow) => {
    const api = await harness();
    const { status, headers, json } = await api.api(method, path);
    expect(status).toBe(405);
    expect(headers.get("allow")).toBe(allow);
    expect(json.error.code).toBe("method_not_allowed");
  });

  it.each([`${BASE}/1/launch/`, `${BASE}/1/progress/stream/extra`, "/api/admin/other", `${BASE}//`])(
    "GET %s is 404 not_found",
    async (path) => {
      const api = await harness();
      const { status, json } = await api.api("GET", path);
      expect(status).toBe(404);
      expect(json.error.code).toBe("not_found");
    },
  );

  it.each(["abc", "0", "-1", "1.5", "99999999999999999999", "1e3"])(
    "refuses the id %j as a validation error of the field id",
    async (segment) => {
      const api = await harness();
      for (const [method, path] of [
        ["GET", `${BASE}/${segment}/`],
        ["GET", `${BASE}/${segment}/progress/`],
        ["POST", `${BASE}/${segment}/cancel/`],
        ["POST", `${BASE}/${segment}/retry/`],
      ] as const) {
        const { status, json } = await api.api(method, path);
        expect(status).toBe(400);
        expect(json.error.code).toBe("validation");
        expect(json.error.issues).toEqual([{ path: "id", message: expect.any(String) }]);
        expect(json.error.message).toContain("id");
      }
    },
  );
});

describe("bodies that are refused", () => {
  it.each([
    ["malformed JSON", '{"message": "Hi", '],
    ["a JSON string", '"Hi"'],
    ["JSON null", "null"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d])],
  ])("refuses %s as a validation error of the body", async (_, rawBody) => {
    const api = await harness();
    const { status, json } = await api.api("POST", `${BASE}/`, {
      rawBody,
      headers: { "content-type": "application/json" },
    });
    expect(status).toBe(400);
    expect(json.error.code).toBe("validation");
    expect(json.error.issues[0].path).toBe("");
    expect(json.error.message).toMatch(/^Invalid input: body: /);
  });

  it("refuses a body over maxBodyBytes with 413 and creates nothing", async () => {
    const api = await harness({ handler: { maxBodyBytes: 1_000 } });
    const recipients = Array.from({ length: 100 }, (_, i) => ({ recipient_id: i + 1, chat_id: i + 1 }));
    const { status, json } = await api.api("POST", `${BASE}/`, { body: { message: "Hi", recipients } });
    expect(status).toBe(413);
    expect(json.error).toEqual({
      code: "payload_too_large",
      message: "Request body is larger than 1000 bytes",
    });
    expect((await api.service.list())._unsafeUnwrap().items).toEqual([]);
  });

  it("refuses a chunked body over maxBodyBytes, which declares no length", async () => {
    const api = await harness({ handler: { maxBodyBytes: 1_000 } });
    const chunk = new TextEncoder().encode(" ".repeat(400));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 50) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${api.url}${BASE}/`, {
      method: "POST",
      headers: { authorization: "Bearer test-token", "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe("payload_too_large");
  });
});

describe("failures behind the API", () => {
  const failing = (method: keyof BroadcastService, error: BroadcastError) => ({
    wrapService: (service: BroadcastService): BroadcastService => ({
      ...service,
      [method]: () => errAsync<never, BroadcastError>(error),
    }),
  });

  it.each([
    ["conflict", conflict(1)],
    ["lease_lost", leaseLost(1)],
  ])("answers %s with 409 conflict", async (_, error) => {
    const api = await harness(failing("cancel", error));
    const id = await api.createBroadcast(1);
    const { status, json } = await api.api("POST", `${BASE}/${id}/cancel/`);
    expect(status).toBe(409);
    expect(json.error).toEqual({
      code: "conflict",
      message: "Broadcast 1 was changed by another request; try again",
    });
  });

  it("answers a storage error with a generic 500 and logs the cause", async () => {
    const { entries, logger } = recordingLogger();
    const cause = new Error('SELECT * FROM broadcasts -- password "hunter2"');
    const api = await harness({ ...failing("getProgress", storageError(cause)), handler: { logger } });
    const response = await fetch(`${api.url}${BASE}/1/progress/`, {
      headers: { authorization: "Bearer test-token" },
    });
    const text = await response.text();

    expect(response.status).toBe(500);
    expect(JSON.parse(text)).toEqual({
      success: false,
      error: { code: "internal", message: "Internal server error" },
    });
    expect(text).not.toMatch(/SELECT|hunter2|stack|at /);
    expect(entries).toEqual([
      expect.objectContaining({
        level: "error",
        fields: { err: cause, method: "GET", path: `${BASE}/1/progress/` },
      }),
    ]);
  });

  it("answers a service that throws with a generic 500", async () => {
    const { entries, logger } = recordingLogger();
    const api = await harness({
      handler: { logger },
      wrapService: (service) => ({
        ...service,
        list: () => {
          throw new TypeError("Cannot read properties of undefined (reading 'rows')");
        },
      }),
    });
    const { status, json } = await api.api("GET", `${BASE}/`);
    expect(status).toBe(500);
    expect(json.error).toEqual({ code: "internal", message: "Internal server error" });
    expect(entries).toHaveLength(1);
  });
});

describe("mounting", () => {
  it("serves under another base path, with and without a trailing slash", async () => {
    const api = await harness({ handler: { basePath: "/admin/campaigns/" } });
    const id = await api.createBroadcast(1);
    expect((await api.api("GET", `/admin/campaigns/${id}/progress`)).status).toBe(200);
    expect((await api.api("GET", `/admin/campaigns/${id}/progress/`)).status).toBe(200);
    expect((await api.api("GET", `${BASE}/${id}/progress/`)).status).toBe(404);
  });

  it("refuses options that cannot work when it is created", () => {
    const service = {} as BroadcastService;
    expect(() => createHttpHandler({ service, basePath: "api" })).toThrow(/basePath/);
    expect(() => createHttpHandler({ service, maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
    expect(() => createHttpHandler({ service, streamPollMs: -1 })).toThrow(/streamPollMs/);
  });

  it("answers a Request directly, with no server at all", async () => {
    const handler = createHttpHandler({ service: {} as BroadcastService, authorize: () => "forbidden" });
    const response = await handler(new Request("http://localhost/api/admin/broadcasts/"));
    expect(response.status).toBe(403);
  });
});
