import { type BroadcastStore, WEBHOOK_EVENT_TYPES } from "broadcastkit";
import { createMemoryStore } from "broadcastkit/memory";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { matchRoute } from "../../src/http/routes.js";
import { BASE, type Harness, START, startHarness } from "./harness.js";

/**
 * The webhook delivery log over the admin API. The store's outbox is driven directly (as an
 * endpoint's dispatcher would drive it), so each test knows exactly what the log holds.
 */
describe("GET {base}/webhooks/ and GET {base}/{id}/webhooks/: the webhook delivery log", () => {
  let h: Harness;
  let store: BroadcastStore;
  beforeEach(async () => {
    store = createMemoryStore();
    h = await startHarness({ store });
  });
  afterEach(() => h.close());

  /** Claims what the outbox holds for `endpointId`; the first claim registers it from the start of time. */
  const claim = (endpointId: string) =>
    store.claimWebhookDeliveries({
      endpointId,
      events: WEBHOOK_EVENT_TYPES,
      since: new Date(0),
      owner: "test",
      limit: 100,
      now: h.clock.now(),
      leaseMs: 60_000,
    });

  /** Two broadcasts sent (started + sent each); the "ops" endpoint accepted the first broadcast's start. */
  async function twoSentBroadcasts(): Promise<[number, number]> {
    const first = await h.createBroadcast(2);
    const second = await h.createBroadcast(1);
    for (const id of [first, second]) (await h.service.start(id))._unsafeUnwrap();
    await h.settle();
    const claimed = await claim("ops");
    const start = claimed.deliveries.find(
      (d) => d.event.broadcastId === first && d.event.type === "broadcast.started",
    )!;
    await store.recordWebhookDelivery({
      endpointId: "ops",
      deliveryId: start.id,
      epoch: claimed.epoch,
      now: h.clock.now(),
      outcome: { type: "delivered", statusCode: 204 },
    });
    return [first, second];
  }

  it("is routed before {id}, answers GET only", () => {
    expect(matchRoute(BASE, `${BASE}/webhooks/`, "GET")).toEqual({
      type: "matched",
      operation: "webhooks",
      idSegment: undefined,
    });
    expect(matchRoute(BASE, `${BASE}/7/webhooks`, "GET")).toEqual({
      type: "matched",
      operation: "broadcast_webhooks",
      idSegment: "7",
    });
    expect(matchRoute(BASE, `${BASE}/webhooks/`, "POST")).toEqual({
      type: "method_not_allowed",
      allowed: ["GET"],
    });
  });

  it("lists every delivery newest first in the seed's envelope, snake_case, with the payload it carries", async () => {
    const [first, second] = await twoSentBroadcasts();
    const answer = await h.api("GET", `${BASE}/webhooks/`);
    expect(answer.status).toBe(200);
    expect(answer.json.success).toBe(true);
    const { items, next_cursor } = answer.json.data;
    expect(next_cursor).toBeNull();
    expect(
      items.map((d: { broadcast_id: number; event_type: string }) => [d.broadcast_id, d.event_type]),
    ).toEqual([
      [second, "broadcast.sent"],
      [first, "broadcast.sent"],
      [second, "broadcast.started"],
      [first, "broadcast.started"],
    ]);
    expect(items[3]).toEqual({
      id: expect.any(Number),
      endpoint_id: "ops",
      event_id: expect.stringMatching(/^evt_\d+$/),
      event_type: "broadcast.started",
      broadcast_id: first,
      occurred_at: START.toISOString(),
      state: "delivered",
      attempts: 1,
      next_attempt_at: null,
      last_attempt_at: START.toISOString(),
      last_error: null,
      last_status_code: 204,
      delivered_at: START.toISOString(),
      payload: {
        type: "broadcast.started",
        timestamp: START.toISOString(),
        data: expect.objectContaining({ broadcast_id: first, status: "sending", previous_status: "draft" }),
      },
    });
  });

  it("filters by state, endpoint and broadcast, and pages with next_cursor", async () => {
    const [first] = await twoSentBroadcasts();
    await claim("audit");
    const delivered = await h.api("GET", `${BASE}/webhooks/?state=delivered`);
    expect(delivered.json.data.items.map((d: { event_type: string }) => d.event_type)).toEqual([
      "broadcast.started",
    ]);
    const audit = await h.api("GET", `${BASE}/webhooks/?endpoint_id=audit&broadcast_id=${first}`);
    expect(audit.json.data.items.map((d: { endpoint_id: string }) => d.endpoint_id)).toEqual([
      "audit",
      "audit",
    ]);

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? "?limit=3" : `?limit=3&cursor=${encodeURIComponent(cursor)}`;
      const page = await h.api("GET", `${BASE}/webhooks/${query}`);
      seen.push(...page.json.data.items.map((d: { id: number }) => d.id));
      cursor = page.json.data.next_cursor;
    } while (cursor !== null);
    expect(seen).toHaveLength(8);
    expect(new Set(seen).size).toBe(8);
  });

  it("lists one broadcast's deliveries at {id}/webhooks/, and 404s for a broadcast that does not exist", async () => {
    const [first] = await twoSentBroadcasts();
    const one = await h.api("GET", `${BASE}/${first}/webhooks/?state=pending`);
    expect(one.status).toBe(200);
    expect(
      one.json.data.items.map((d: { broadcast_id: number; event_type: string }) => [
        d.broadcast_id,
        d.event_type,
      ]),
    ).toEqual([[first, "broadcast.sent"]]);
    const missing = await h.api("GET", `${BASE}/999/webhooks/`);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ success: false, error: { code: "not_found" } });
  });

  it("refuses bad filters as a validation error naming the parameter", async () => {
    const bad = async (query: string) => {
      const answer = await h.api("GET", `${BASE}/webhooks/${query}`);
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe("validation");
      return answer.json.error.message as string;
    };
    expect(await bad("?state=lost")).toMatch(/state/);
    expect(await bad("?broadcast_id=abc")).toMatch(/broadcast_id/);
    expect(await bad("?limit=0")).toMatch(/limit/);
    expect(await bad("?cursor=nope")).toMatch(/cursor/);
    expect(await bad("?state=pending&state=failed")).toMatch(/state/);
    const perBroadcast = await h.api("GET", `${BASE}/abc/webhooks/`);
    expect(perBroadcast.status).toBe(400);
  });

  it("asks for authorization like every other route", async () => {
    expect((await h.api("GET", `${BASE}/webhooks/`, { anonymous: true })).status).toBe(401);
    expect(
      (
        await h.api("GET", `${BASE}/webhooks/`, {
          anonymous: true,
          headers: { authorization: "Bearer nope" },
        })
      ).status,
    ).toBe(403);
    expect((await h.api("GET", `${BASE}/1/webhooks/`, { anonymous: true })).status).toBe(401);
  });
});
