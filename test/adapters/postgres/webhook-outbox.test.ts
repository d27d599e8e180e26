import { type BroadcastStatus, WEBHOOK_EVENT_TYPES } from "broadcastkit";
import { createPostgresStore, type PostgresStore } from "broadcastkit/postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DATABASE_URL, dropSchema, uniqueSchema } from "../../support/postgres.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const BROADCASTS = 40;
/** draft → sending → paused → sending → cancelled: four events each. */
const PATH: [BroadcastStatus, BroadcastStatus][] = [
  ["draft", "sending"],
  ["sending", "paused"],
  ["paused", "sending"],
  ["sending", "cancelled"],
];

const schema = uniqueSchema();
let store: PostgresStore;
beforeAll(async () => {
  store = createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 12 });
  await store.migrate();
});
afterAll(async () => {
  await store.close();
  await dropSchema(schema);
});

describe("the PostgreSQL webhook outbox under concurrent writers and dispatchers", () => {
  it("hands every journaled event to the endpoint exactly once, although sequence ids commit out of order", async () => {
    const ids: number[] = [];
    for (let i = 0; i < BROADCASTS; i += 1) {
      const created = await store.createBroadcast(
        {
          message: { text: "Hi" },
          status: "draft",
          scheduledAt: null,
          createdBy: null,
          errorThreshold: null,
          createdAt: T0,
        },
        [{ recipientId: 1, chatId: 1001 }],
      );
      ids.push(created.id);
    }
    // Registered before any event, so every event is the endpoint's.
    const claim = (owner: string) =>
      store.claimWebhookDeliveries({
        endpointId: "hooks",
        events: WEBHOOK_EVENT_TYPES,
        since: new Date(0),
        owner,
        limit: 7,
        now: T0,
        leaseMs: 600_000,
      });
    await claim("first");

    let writing = true;
    const delivered: number[] = [];
    const dispatcher = async (owner: string) => {
      while (writing) {
        const batch = await claim(owner);
        for (const delivery of batch.deliveries) {
          const recorded = await store.recordWebhookDelivery({
            endpointId: "hooks",
            deliveryId: delivery.id,
            epoch: batch.epoch,
            now: T0,
            outcome: { type: "delivered", statusCode: 204 },
          });
          if (recorded.type === "recorded") delivered.push(delivery.event.id);
        }
      }
    };
    const writer = async (id: number) => {
      for (const [from, to] of PATH) {
        const result = await store.updateBroadcast(id, from, { status: to }, T0);
        expect(result.type).toBe("updated");
      }
    };
    const dispatchers = [dispatcher("a"), dispatcher("b"), dispatcher("c")];
    await Promise.all(ids.map(writer));
    writing = false;
    await Promise.all(dispatchers);
    for (;;) {
      const batch = await claim("last");
      if (batch.deliveries.length === 0) break;
      for (const delivery of batch.deliveries) {
        await store.recordWebhookDelivery({
          endpointId: "hooks",
          deliveryId: delivery.id,
          epoch: batch.epoch,
          now: T0,
          outcome: { type: "delivered", statusCode: 204 },
        });
        delivered.push(delivery.event.id);
      }
    }

    expect(delivered).toHaveLength(BROADCASTS * PATH.length);
    expect(new Set(delivered).size).toBe(BROADCASTS * PATH.length);
    const log = await store.listWebhookDeliveries({ endpointId: "hooks", limit: 1000 });
    expect(log.items.every((d) => d.state === "delivered")).toBe(true);
    const perBroadcast = new Map<number, string[]>();
    for (const d of [...log.items].reverse()) {
      perBroadcast.set(d.event.broadcastId, [...(perBroadcast.get(d.event.broadcastId) ?? []), d.event.type]);
    }
    for (const id of ids) {
      expect(perBroadcast.get(id)).toEqual([
        "broadcast.started",
        "broadcast.paused",
        "broadcast.resumed",
        "broadcast.cancelled",
      ]);
    }
  });
});
