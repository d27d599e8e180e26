import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE, type Harness, snapshot, startHarness, TOKEN } from "./harness.js";

const MAX_BODY_BYTES = 4_000;

const method = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("GET", "POST") },
  { weight: 1, arbitrary: fc.constantFrom("PUT", "PATCH", "DELETE", "OPTIONS", "HEAD") },
);

const idSegment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "999") },
  fc.constantFrom("0", "-1", "1.5", "abc", "99999999999999999999", "1e3", "%31", "0x1", "01"),
  fc.nat({ max: 20 }).map(String),
  fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/),
);

const action = fc.constantFrom(
  "",
  "send",
  "schedule",
  "unschedule",
  "pause",
  "resume",
  "cancel",
  "retry",
  "recipients",
  "progress",
  "progress/stream",
  "unknown",
  "progress/extra",
);

const query = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  fc.constantFrom("?status=sent", "?status=failed", "?status=bogus", "?limit=2", "?limit=0", "?limit=x"),
  // A cursor nobody issued has its own test (routes-over-http); here cursors are left out.
  // A cursor nobody issued has its own test in routes-over-http.test.ts.
  fc.constantFrom("?status=draft&status=sent", "?token=abc"),
);

const path = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(BASE, `${BASE}/`, "/", "/api/admin", `${BASE}x`, `${BASE}//`) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(idSegment, action, fc.boolean(), query)
      .map(([id, act, slash, q]) => `${BASE}/${id}${act === "" ? "" : `/${act}`}${slash ? "/" : ""}${q}`),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.boolean(), query).map(([slash, q]) => `${BASE}${slash ? "/" : ""}${q}`),
  },
);

const recipient = fc.record(
  {
    recipient_id: fc.oneof(fc.integer({ min: -2, max: 50 }), fc.string({ maxLength: 4 })),
    chat_id: fc.oneof(fc.integer(), fc.constantFrom("@channel_one", "@x", "nobody")),
    variables: fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.oneof(fc.string(), fc.integer())),
    extra: fc.boolean(),
  },
  { requiredKeys: ["recipient_id", "chat_id"] },
);

const jsonBody = fc.oneof(
  fc.record(
    {
      message: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.record({
          text: fc.string({ maxLength: 20 }),
          parse_mode: fc.constantFrom("HTML", "MarkdownV2", "BBCode"),
        }),
      ),
      recipients: fc.array(recipient, { maxLength: 4 }),
      scheduled_at: fc.constantFrom("2030-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "soon", null),
      error_threshold: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.constant(null)),
      priority: fc.string(),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      scheduled_at: fc.constantFrom("2030-01-01T00:00:00Z", "2020-01-01T00:00:00Z", "2030-01-01T00:00:00", 5),
      include_permanent: fc.oneof(fc.boolean(), fc.constant("yes")),
    },
    { requiredKeys: [] },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

const body = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(undefined, "{}") },
  { weight: 5, arbitrary: jsonBody.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.nat({ max: 3 * MAX_BODY_BYTES }).map((n) => `"${"x".repeat(n)}"`) },
);

const credentials = fc.constantFrom<Record<string, string>>(
  { authorization: `Bearer ${TOKEN}` },
  { authorization: `Bearer ${TOKEN}` },
  { authorization: `Bearer ${TOKEN}` },
  { authorization: "Bearer wrong" },
  {},
);

describe("any request", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ handler: { maxBodyBytes: MAX_BODY_BYTES } });
    // Broadcasts in many statuses, so that each action meets both allowed and refused transitions.
    h.respondWith((id) =>
      Number(id) % 3 === 0
        ? { status: "failed", kind: "permanent", description: "Forbidden: bot was blocked by the user" }
        : { status: "delivered" },
    );
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push(await h.createBroadcast(4));
    for (const id of ids.slice(2)) await h.service.start(id);
    await h.settle();
    await h.service.schedule(ids[1]!, "2030-01-01T00:00:00Z");
    await h.service.cancel(ids[2]!);
    const sending = await h.createBroadcast(2);
    await h.service.start(sending);
    const paused = await h.createBroadcast(2);
    await h.service.start(paused);
    await h.service.pause(paused);
  });
  afterAll(() => h.close());

  it("is answered in the envelope, never with a 500, and a refused one changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(method, path, body, credentials, async (verb, target, payload, headers) => {
        const before = await snapshot(h.service);
        const jobsBefore = JSON.stringify(h.queue.pending());
        const abort = new AbortController();
        const response = await fetch(`${h.url}${target}`, {
          method: verb,
          headers: { ...headers, ...(payload === undefined ? {} : { "content-type": "application/json" }) },
          ...(payload === undefined || verb === "GET" || verb === "HEAD" ? {} : { body: payload }),
          signal: abort.signal,
        });

        expect(response.status).not.toBe(500);
        if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
          // A live stream would run until the broadcast ends: what counts here is that it started.
          expect(response.status).toBe(200);
          abort.abort();
          return;
        }
        const text = await response.text();
        if (verb !== "HEAD") {
          const json = JSON.parse(text);
          expect(json.success).toBe(response.status < 400);
          if (!json.success)
            expect(json.error).toEqual(expect.objectContaining({ code: expect.any(String) }));
        }
        if (response.status === 405) expect(response.headers.get("allow")).toMatch(/^(GET|POST)/);
        if (response.status >= 400) {
          expect(await snapshot(h.service)).toBe(before);
          expect(JSON.stringify(h.queue.pending())).toBe(jobsBefore);
        }
      }),
      { numRuns: 300 },
    );
  });
});
