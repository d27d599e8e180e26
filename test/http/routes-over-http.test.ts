import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, type Harness, START, startHarness } from "./harness.js";

const FUTURE = "2030-01-01T09:00:00Z";

describe("admin API routes", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  describe("POST {base}/ creates a broadcast", () => {
    it("answers 201 with the broadcast in snake_case and where to find it", async () => {
      const { status, headers, json } = await h.api("POST", `${BASE}/`, {
        body: {
          message: { text: "Hi {{name}}", parse_mode: "HTML" },
          recipients: [
            { recipient_id: 1, chat_id: 100, variables: { name: "Ann" } },
            { recipient_id: "u-2", chat_id: "@news_channel" },
          ],
          error_threshold: 10,
        },
      });

      expect(status).toBe(201);
      expect(json.success).toBe(true);
      expect(json.data).toMatchObject({
        id: expect.any(Number),
        status: "draft",
        message: { text: "Hi {{name}}", parse_mode: "HTML" },
        error_threshold: 10,
        total_recipients: 2,
        sent_count: 0,
        failed_count: 0,
        pending_count: 2,
        progress_pct: 0,
        error_summary: null,
        created_at: START.toISOString(),
        scheduled_at: null,
        error_log: [],
      });
      expect(headers.get("location")).toBe(`${BASE}/${json.data.id}/`);
      const recipients = (await h.api("GET", `${BASE}/${json.data.id}/recipients/`)).json.data.items;
      expect(recipients).toEqual([
        expect.objectContaining({
          recipient_id: 1,
          chat_id: 100,
          variables: { name: "Ann" },
          status: "pending",
        }),
        expect.objectContaining({ recipient_id: "u-2", chat_id: "@news_channel", status: "pending" }),
      ]);
    });

    it("takes a message as plain text, and a scheduled_at that makes it scheduled", async () => {
      const { status, json } = await h.api("POST", BASE, {
        body: { message: "Hello", recipients: [{ recipient_id: 1, chat_id: 1 }], scheduled_at: FUTURE },
      });
      expect(status).toBe(201);
      expect(json.data).toMatchObject({
        status: "scheduled",
        message: { text: "Hello", parse_mode: null },
        scheduled_at: new Date(FUTURE).toISOString(),
      });
    });

    it.each([
      ["an unknown field", { message: "Hi", recipients: [], priority: 1 }, ["priority"]],
      [
        "an unknown recipient field",
        { message: "Hi", recipients: [{ recipient_id: 1, chat_id: 1, name: "x" }] },
        ["recipients.0.name"],
      ],
      [
        "a wrong chat id",
        { message: "Hi", recipients: [{ recipient_id: 1, chat_id: "nobody" }] },
        ["recipients.0.chat_id"],
      ],
      [
        "a negative recipient id",
        { message: "Hi", recipients: [{ recipient_id: -5, chat_id: 1 }] },
        ["recipients.0.recipient_id"],
      ],
      ["a message that is not text", { message: ["Hi"], recipients: [] }, ["message"]],
      ["a missing recipient list", { message: "Hi" }, ["recipients"]],
      [
        "a scheduled_at that is no date",
        { message: "Hi", recipients: [], scheduled_at: "soon" },
        ["scheduled_at"],
      ],
      [
        "a scheduled_at in the past",
        { message: "Hi", recipients: [], scheduled_at: "2020-01-01T00:00:00Z" },
        ["scheduled_at"],
      ],
      ["an empty message", { message: "   ", recipients: [] }, ["message.text"]],
      [
        "an error_threshold of zero",
        { message: "Hi", recipients: [], error_threshold: 0 },
        ["error_threshold"],
      ],
    ])("refuses %s with a validation error naming the field", async (_, body, paths) => {
      const { status, json } = await h.api("POST", `${BASE}/`, { body });

      expect(status).toBe(400);
      expect(json.success).toBe(false);
      expect(json.error.code).toBe("validation");
      expect(json.error.issues.map((issue: { path: string }) => issue.path)).toEqual(paths);
      for (const path of paths) expect(json.error.message).toContain(path);
      expect((await h.service.list())._unsafeUnwrap().items).toEqual([]);
    });

    it("refuses duplicate recipient ids and a message too long, in snake_case", async () => {
      const duplicates = await h.api("POST", BASE, {
        body: {
          message: "Hi",
          recipients: [
            { recipient_id: 7, chat_id: 1 },
            { recipient_id: 7, chat_id: 2 },
          ],
        },
      });
      expect(duplicates.status).toBe(400);
      expect(duplicates.json.error.code).toBe("validation");
      expect(duplicates.json.error.issues).toEqual([
        { path: "recipients.1.recipient_id", message: expect.any(String) },
      ]);

      const tooLong = await h.api("POST", BASE, {
        body: { message: "x".repeat(4097), recipients: [{ recipient_id: 1, chat_id: 1 }] },
      });
      expect(tooLong.status).toBe(400);
      expect(tooLong.json.error.message).toMatch(/message/);
      expect((await h.service.list())._unsafeUnwrap().items).toEqual([]);
    });

    it("refuses a chat given twice, naming both places", async () => {
      const recipients = Array.from({ length: 8 }, (_, i) => ({ recipient_id: i + 1, chat_id: 100 + i }));
      recipients[7] = { recipient_id: 8, chat_id: 102 };

      const { status, json } = await h.api("POST", BASE, { body: { message: "Hi", recipients } });

      expect(status).toBe(400);
      expect(json.error).toEqual({
        code: "validation",
        message: "Invalid input: recipients.7.chat_id: duplicate of recipients.2",
        issues: [{ path: "recipients.7.chat_id", message: "duplicate of recipients.2" }],
      });
      expect((await h.service.list())._unsafeUnwrap().items).toEqual([]);
    });

    it("needs a body", async () => {
      const { status, json } = await h.api("POST", BASE);
      expect(status).toBe(400);
      expect(json.error).toEqual({
        code: "validation",
        message: "Invalid input: body: a JSON body is required",
        issues: [{ path: "", message: "a JSON body is required" }],
      });
    });
  });

  describe("GET {base}/ lists broadcasts", () => {
    it("newest first, a page at a time", async () => {
      const ids = [await h.createBroadcast(1), await h.createBroadcast(2), await h.createBroadcast(3)];

      const first = await h.api("GET", `${BASE}/?limit=2`);
      expect(first.status).toBe(200);
      expect(first.json.data.items.map((b: { id: number }) => b.id)).toEqual([ids[2], ids[1]]);
      expect(first.json.data.next_cursor).toEqual(expect.any(String));
      expect(first.json.data.items[0]).not.toHaveProperty("error_log");

      const second = await h.api(
        "GET",
        `${BASE}?limit=2&cursor=${encodeURIComponent(first.json.data.next_cursor)}`,
      );
      expect(second.json.data).toEqual({
        items: [expect.objectContaining({ id: ids[0] })],
        next_cursor: null,
      });
    });

    it("filters by status", async () => {
      const draft = await h.createBroadcast(1);
      const sending = await h.createBroadcast(1);
      await h.api("POST", `${BASE}/${sending}/send/`);

      const { json } = await h.api("GET", `${BASE}/?status=draft`);
      expect(json.data.items.map((b: { id: number }) => b.id)).toEqual([draft]);
    });

    it.each([
      ["limit=0", "limit"],
      ["limit=abc", "limit"],
      ["status=processing", "status"],
      ["status=sent&status=draft", "status"],
      ["cursor=zzz", "cursor"],
    ])("refuses ?%s naming %s", async (query, field) => {
      const { status, json } = await h.api("GET", `${BASE}/?${query}`);
      expect(status).toBe(400);
      expect(json.error.issues[0].path).toBe(field);
    });
  });

  describe("one broadcast", () => {
    it("GET {base}/{id}/ shows it with its error counters and log", async () => {
      h.respondWith((id) =>
        id === 2
          ? { status: "failed", kind: "permanent", description: "Bad Request: chat not found" }
          : { status: "delivered" },
      );
      const id = await h.createBroadcast(2);
      await h.api("POST", `${BASE}/${id}/send/`);
      await h.settle();

      const { status, json } = await h.api("GET", `${BASE}/${id}`);

      expect(status).toBe(200);
      expect(json.data).toMatchObject({
        id,
        status: "completed",
        sent_count: 1,
        failed_count: 1,
        error_summary: "1 failed: Bad Request: chat not found",
        error_counts: { "Bad Request: chat not found": 1 },
        error_log: [
          { recipient_id: 2, error: "Bad Request: chat not found", timestamp: START.toISOString() },
        ],
        sent_at: START.toISOString(),
        completed_at: START.toISOString(),
      });
    });

    it("answers 404 for an id nobody has", async () => {
      const { status, json } = await h.api("GET", `${BASE}/4242/`);
      expect(status).toBe(404);
      expect(json.error.code).toBe("not_found");
    });

    it("POST send/ starts it; starting it again is an invalid transition", async () => {
      const id = await h.createBroadcast(2);
      const started = await h.api("POST", `${BASE}/${id}/send/`);
      expect(started.status).toBe(200);
      expect(started.json.data).toMatchObject({ status: "sending", sent_at: START.toISOString() });

      const again = await h.api("POST", `${BASE}/${id}/send`);
      expect(again.status).toBe(400);
      expect(again.json.error.code).toBe("invalid_transition");
      expect(again.json.error.message).toContain("sending");
    });

    it("POST schedule/ schedules it, POST unschedule/ takes it back to draft", async () => {
      const id = await h.createBroadcast(1);

      const scheduled = await h.api("POST", `${BASE}/${id}/schedule/`, { body: { scheduled_at: FUTURE } });
      expect(scheduled.status).toBe(200);
      expect(scheduled.json.data).toMatchObject({
        status: "scheduled",
        scheduled_at: new Date(FUTURE).toISOString(),
      });

      const unscheduled = await h.api("POST", `${BASE}/${id}/unschedule/`);
      expect(unscheduled.status).toBe(200);
      expect(unscheduled.json.data.status).toBe("draft");
    });

    it.each([
      ["no body", undefined],
      ["a past time", { scheduled_at: "2024-01-01T00:00:00Z" }],
      ["a local time without zone", { scheduled_at: "2030-01-01T00:00:00" }],
      ["an extra field", { scheduled_at: FUTURE, when: "now" }],
    ])("POST schedule/ refuses %s", async (_, body) => {
      const id = await h.createBroadcast(1);
      const { status, json } = await h.api(
        "POST",
        `${BASE}/${id}/schedule/`,
        body === undefined ? {} : { body },
      );
      expect(status).toBe(400);
      expect(json.error.code).toBe("validation");
      expect(json.error.message).toMatch(/scheduled_at|when|body/);
      expect((await h.service.get(id))._unsafeUnwrap().status).toBe("draft");
    });

    it("POST pause/ and resume/ stop and continue sending; nobody is sent twice", async () => {
      const id = await h.createBroadcast(4);
      await h.api("POST", `${BASE}/${id}/send/`);

      const paused = await h.api("POST", `${BASE}/${id}/pause/`);
      expect(paused.status).toBe(200);
      expect(paused.json.data).toMatchObject({ status: "paused", pause_reason: { type: "manual" } });
      await h.settle();
      expect((await h.api("GET", `${BASE}/${id}/progress/`)).json.data).toMatchObject({ sent_count: 0 });

      const resumed = await h.api("POST", `${BASE}/${id}/resume/`);
      expect(resumed.status).toBe(200);
      expect(resumed.json.data).toMatchObject({ status: "sending", pause_reason: null });
      await h.settle();
      expect((await h.api("GET", `${BASE}/${id}/progress/`)).json.data).toMatchObject({
        status: "sent",
        sent_count: 4,
      });
    });

    it("refuses a body on an action that takes none", async () => {
      const id = await h.createBroadcast(1);
      const { status, json } = await h.api("POST", `${BASE}/${id}/send/`, { body: { now: true } });
      expect(status).toBe(400);
      expect(json.error.issues).toEqual([{ path: "now", message: "unknown field" }]);
      expect((await h.service.get(id))._unsafeUnwrap().status).toBe("draft");
    });

    it("accepts {} on an action that takes none", async () => {
      const id = await h.createBroadcast(1);
      expect((await h.api("POST", `${BASE}/${id}/cancel/`, { body: {} })).status).toBe(200);
    });
  });

  describe("GET {base}/{id}/recipients/", () => {
    it("pages through recipients in order and filters by status", async () => {
      h.respondWith((id) =>
        Number(id) % 2 === 0
          ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
          : { status: "delivered", messageId: Number(id) * 10 },
      );
      const id = await h.createBroadcast(5);
      await h.api("POST", `${BASE}/${id}/send/`);
      await h.settle();

      const first = await h.api("GET", `${BASE}/${id}/recipients/?limit=3`);
      expect(first.status).toBe(200);
      expect(first.json.data.items.map((r: { recipient_id: number }) => r.recipient_id)).toEqual([1, 2, 3]);
      const rest = await h.api(
        "GET",
        `${BASE}/${id}/recipients/?limit=3&cursor=${encodeURIComponent(first.json.data.next_cursor)}`,
      );
      expect(rest.json.data.items.map((r: { recipient_id: number }) => r.recipient_id)).toEqual([4, 5]);
      expect(rest.json.data.next_cursor).toBeNull();

      const failed = await h.api("GET", `${BASE}/${id}/recipients/?status=failed`);
      expect(failed.json.data.items).toEqual([
        expect.objectContaining({
          recipient_id: 2,
          status: "failed",
          attempts: 1,
          last_error: "Forbidden: bot was blocked by the user",
          last_error_kind: "permanent",
          message_id: null,
        }),
        expect.objectContaining({ recipient_id: 4, status: "failed" }),
      ]);
      const sent = await h.api("GET", `${BASE}/${id}/recipients/?status=sent&limit=1`);
      expect(sent.json.data.items).toEqual([expect.objectContaining({ recipient_id: 1, message_id: 10 })]);
    });

    it("answers 404 for a broadcast nobody has and 400 for a bad status", async () => {
      expect((await h.api("GET", `${BASE}/77/recipients/`)).status).toBe(404);
      const id = await h.createBroadcast(1);
      const bad = await h.api("GET", `${BASE}/${id}/recipients/?status=delivered`);
      expect(bad.status).toBe(400);
      expect(bad.json.error.issues[0].path).toBe("status");
    });
  });

  describe("POST {base}/{id}/retry/", () => {
    it("leaves permanent failures alone unless include_permanent is true", async () => {
      h.respondWith(() => ({
        status: "failed",
        kind: "permanent",
        description: "Forbidden: user is deactivated",
      }));
      const id = await h.createBroadcast(3);
      await h.api("POST", `${BASE}/${id}/send/`);
      await h.settle();

      const skipped = await h.api("POST", `${BASE}/${id}/retry/`);
      expect(skipped.json.data).toMatchObject({
        message: "No failed recipients to retry",
        retried_count: 0,
        skipped_count: 3,
        task_id: null,
      });

      const included = await h.api("POST", `${BASE}/${id}/retry/`, { body: { include_permanent: true } });
      expect(included.status).toBe(200);
      expect(included.json.data).toMatchObject({
        message: "Retry started for 3 recipients",
        retried_count: 3,
        skipped_count: 0,
      });
    });

    it("refuses a retry of a broadcast still sending", async () => {
      h.respondWith((id) =>
        id === 1
          ? { status: "failed", kind: "permanent", description: "Bad Request: chat not found" }
          : { status: "failed", kind: "transient", description: "Network timeout" },
      );
      const id = await h.createBroadcast(2);
      await h.api("POST", `${BASE}/${id}/send/`);
      await h.settle(START);
      const { status, json } = await h.api("POST", `${BASE}/${id}/retry/`, {
        body: { include_permanent: true },
      });
      expect(status).toBe(400);
      expect(json.error.code).toBe("invalid_transition");
    });

    it("answers the same for every variant: refused from draft, sending, paused and cancelled", async () => {
      const draft = await h.createBroadcast(1);
      const sending = await h.createBroadcast(1);
      await h.api("POST", `${BASE}/${sending}/send/`);
      const paused = await h.createBroadcast(1);
      await h.api("POST", `${BASE}/${paused}/send/`);
      await h.api("POST", `${BASE}/${paused}/pause/`);
      const cancelled = await h.createBroadcast(1);
      await h.api("POST", `${BASE}/${cancelled}/cancel/`);

      for (const [id, from] of [
        [draft, "draft"],
        [sending, "sending"],
        [paused, "paused"],
        [cancelled, "cancelled"],
      ] as const) {
        for (const body of [undefined, {}, { include_permanent: false }, { include_permanent: true }]) {
          const { status, json } = await h.api(
            "POST",
            `${BASE}/${id}/retry/`,
            body === undefined ? {} : { body },
          );
          expect(status).toBe(400);
          expect(json.error).toEqual({
            code: "invalid_transition",
            message: `Broadcast ${id} cannot go from ${from} to sending`,
          });
        }
      }
    });

    it("is a success with nothing to do on a clean sent broadcast", async () => {
      const id = await h.createBroadcast(2);
      await h.api("POST", `${BASE}/${id}/send/`);
      await h.settle();

      for (const body of [undefined, { include_permanent: true }]) {
        const { status, json } = await h.api(
          "POST",
          `${BASE}/${id}/retry/`,
          body === undefined ? {} : { body },
        );
        expect(status).toBe(200);
        expect(json.data).toEqual({
          success: true,
          message: "No failed recipients to retry",
          retried_count: 0,
          skipped_count: 0,
          broadcast_id: id,
          task_id: null,
        });
      }
    });

    it("refuses an include_permanent that is not a boolean", async () => {
      const id = await h.createBroadcast(1);
      const { status, json } = await h.api("POST", `${BASE}/${id}/retry/`, {
        body: { include_permanent: "yes" },
      });
      expect(status).toBe(400);
      expect(json.error.issues[0].path).toBe("include_permanent");
    });
  });
});
