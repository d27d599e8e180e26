import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { BROADCAST_STATUSES, type BroadcastStatus } from "../../src/core/types.js";
import {
  DEFAULT_WEBHOOK_RETRY_POLICY,
  isAcceptedStatus,
  nextWebhookAttempt,
  parseWebhookEndpoints,
  WEBHOOK_EVENT_TYPES,
  type WebhookEvent,
  webhookEventFor,
  webhookMessageId,
  webhookPayload,
  webhookPayloadSchema,
} from "../../src/core/webhooks.js";
import { T0 } from "./fixtures.js";

const SECRET = `whsec_${Buffer.alloc(32, 1).toString("base64")}`;

const event = (overrides: Partial<WebhookEvent> = {}): WebhookEvent => ({
  id: 41,
  type: "broadcast.completed",
  broadcastId: 7,
  previousStatus: "sending",
  status: "completed",
  occurredAt: T0,
  totalRecipients: 500,
  sentCount: 450,
  failedCount: 40,
  ...overrides,
});

describe("webhook events", () => {
  it("name every status change a host cares about, and the final status names completion", () => {
    const named: [BroadcastStatus, BroadcastStatus, string | null][] = [
      ["draft", "sending", "broadcast.started"],
      ["scheduled", "sending", "broadcast.started"],
      ["completed", "sending", "broadcast.started"],
      ["failed", "sending", "broadcast.started"],
      ["paused", "sending", "broadcast.resumed"],
      ["sending", "paused", "broadcast.paused"],
      ["sending", "sent", "broadcast.sent"],
      ["draft", "sent", "broadcast.sent"],
      ["sending", "completed", "broadcast.completed"],
      ["sending", "failed", "broadcast.failed"],
      ["paused", "cancelled", "broadcast.cancelled"],
      ["draft", "cancelled", "broadcast.cancelled"],
      ["draft", "scheduled", null],
      ["scheduled", "draft", null],
      ["sending", "sending", null],
    ];
    for (const [from, to, name] of named) expect(webhookEventFor(from, to), `${from} -> ${to}`).toBe(name);
  });

  test.prop([fc.constantFrom(...BROADCAST_STATUSES), fc.constantFrom(...BROADCAST_STATUSES)])(
    "are null exactly when the status stays or lands on draft or scheduled",
    (from, to) => {
      const name = webhookEventFor(from, to);
      expect(name === null).toBe(from === to || to === "draft" || to === "scheduled");
      if (name !== null) expect(WEBHOOK_EVENT_TYPES).toContain(name);
    },
  );

  it("carry a payload in the Standard Webhooks shape, snake_case data, that the schema accepts", () => {
    const payload = webhookPayload(event());
    expect(payload).toEqual({
      type: "broadcast.completed",
      timestamp: "2030-01-01T00:00:00.000Z",
      data: {
        event_id: "evt_41",
        broadcast_id: 7,
        status: "completed",
        previous_status: "sending",
        total_recipients: 500,
        sent_count: 450,
        failed_count: 40,
        pending_count: 10,
        progress_pct: 90,
      },
    });
    expect(webhookPayloadSchema.parse(JSON.parse(JSON.stringify(payload)))).toEqual(payload);
    expect(webhookMessageId(event())).toBe("evt_41");
  });

  it("count only 2xx answers as accepted", () => {
    expect([200, 201, 204, 299].map(isAcceptedStatus)).toEqual([true, true, true, true]);
    expect([199, 301, 302, 400, 410, 429, 500, 503].some(isAcceptedStatus)).toBe(false);
  });
});

describe("webhook retry schedule", () => {
  it("by default: 8 attempts, waiting 30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min, ~2 h, 6 h (jitter at its middle)", () => {
    const waits: number[] = [];
    for (let made = 1; ; made += 1) {
      const decision = nextWebhookAttempt(DEFAULT_WEBHOOK_RETRY_POLICY, made, T0, () => 0.5);
      if (decision.type === "give_up") {
        expect(made).toBe(8);
        break;
      }
      waits.push(decision.nextAttemptAt.getTime() - T0.getTime());
    }
    expect(waits).toEqual([30_000, 90_000, 270_000, 810_000, 2_430_000, 7_290_000, 21_600_000]);
  });

  test.prop([fc.integer({ min: 1, max: 7 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })])(
    "spreads each wait by the injected random draw, within ±20%",
    (made, draw) => {
      const exact = nextWebhookAttempt({ ...DEFAULT_WEBHOOK_RETRY_POLICY, jitter: 0 }, made, T0);
      const spread = nextWebhookAttempt(DEFAULT_WEBHOOK_RETRY_POLICY, made, T0, () => draw);
      if (exact.type !== "retry" || spread.type !== "retry") throw new Error("expected retries");
      const base = exact.nextAttemptAt.getTime() - T0.getTime();
      const wait = spread.nextAttemptAt.getTime() - T0.getTime();
      expect(wait).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
      expect(wait).toBeLessThanOrEqual(Math.ceil(base * 1.2));
    },
  );
});

describe("webhook endpoint configuration", () => {
  it("fills in the defaults: id from the URL, every event, a 10 s timeout, the default schedule", () => {
    const parsed = parseWebhookEndpoints([{ url: "https://hooks.example/bk", secret: SECRET }]);
    expect(parsed._unsafeUnwrap()).toEqual([
      {
        id: "https://hooks.example/bk",
        url: "https://hooks.example/bk",
        secret: SECRET,
        events: [...WEBHOOK_EVENT_TYPES],
        timeoutMs: 10_000,
        retry: DEFAULT_WEBHOOK_RETRY_POLICY,
      },
    ]);
  });

  it("keeps what the host set", () => {
    const [endpoint] = parseWebhookEndpoints([
      {
        id: "ops",
        url: "http://127.0.0.1:8080/",
        secret: SECRET,
        events: ["broadcast.completed", "broadcast.failed"],
        timeoutMs: 2_000,
        retry: { maxRetries: 2, baseDelayMs: 1_000 },
      },
    ])._unsafeUnwrap();
    expect(endpoint).toMatchObject({
      id: "ops",
      events: ["broadcast.completed", "broadcast.failed"],
      timeoutMs: 2_000,
      retry: { ...DEFAULT_WEBHOOK_RETRY_POLICY, maxRetries: 2, baseDelayMs: 1_000 },
    });
  });

  const refusedPaths = (input: unknown): string[] => {
    const parsed = parseWebhookEndpoints(input);
    if (parsed.isOk()) return [];
    const error = parsed.error;
    return error.type === "validation" ? error.issues.map((issue) => issue.path) : [error.type];
  };

  it("refuses, naming the field: a URL that is not http(s), a secret not in the whsec_ base64 form, unknown events", () => {
    expect(refusedPaths([{ url: "ftp://hooks.example/", secret: SECRET }])).toEqual(["webhooks.0.url"]);
    expect(refusedPaths([{ url: "not a url", secret: SECRET }])).toEqual(["webhooks.0.url"]);
    expect(refusedPaths([{ url: "https://a.example/", secret: "hunter2" }])).toEqual(["webhooks.0.secret"]);
    expect(refusedPaths([{ url: "https://a.example/", secret: "whsec_not base64!" }])).toEqual([
      "webhooks.0.secret",
    ]);
    expect(refusedPaths([{ url: "https://a.example/", secret: "whsec_c2hvcnQ=" }])).toEqual([
      "webhooks.0.secret",
    ]);
    expect(
      refusedPaths([
        { url: "https://a.example/", secret: SECRET },
        { url: "https://b.example/", secret: SECRET, events: ["broadcast.finished"] },
      ]),
    ).toEqual(["webhooks.1.events.0"]);
    expect(refusedPaths([{ url: "https://a.example/", secret: SECRET, events: [] }])).toEqual([
      "webhooks.0.events",
    ]);
    expect(refusedPaths([{ url: "https://a.example/", secret: SECRET, extra: 1 }])).toEqual([
      "webhooks.0.extra",
    ]);
    expect(refusedPaths([{ url: "https://a.example/", secret: SECRET, timeoutMs: 0 }])).toEqual([
      "webhooks.0.timeoutMs",
    ]);
  });

  it("refuses two endpoints with the same id", () => {
    const twice = { url: "https://a.example/", secret: SECRET };
    expect(refusedPaths([twice, twice])).toEqual(["webhooks"]);
  });
});
