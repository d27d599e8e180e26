import { errorSummary, MAX_DESCRIPTION_LENGTH, normalizeDescription, type SendResult } from "broadcastkit";
import { afterEach, describe, expect, it } from "vitest";
import { storeFactories } from "../support/stores.js";
import { makeWorld, type World } from "./support/world.js";

/**
 * What a Bot API, a proxy or a host's own sender may answer as a failure's description: untrusted
 * text. None of it may wedge a broadcast, send a batch twice, or make the counters disagree.
 */
const DESCRIPTIONS = [
  "constructor",
  "toString",
  "hasOwnProperty",
  "__proto__",
  "valueOf",
  "Bad Request: \u0000 in the middle",
  "lone \uD800 high and \uDC00 low surrogates",
  '{"error": "json"}',
  "'; DROP TABLE broadcasts; --",
  `<html>${"proxy error page ".repeat(400)}</html>`,
  `${"x".repeat(MAX_DESCRIPTION_LENGTH - 1)}🚀 cut between the halves`,
];

describe.each(storeFactories)("hostile failure descriptions on the $name store", (factory) => {
  let w: World;
  afterEach(() => w.close());

  it("end the broadcast with every failure counted once under its normalised text", async () => {
    w = await makeWorld(factory, { batchSize: 4 });
    const total = 2 * DESCRIPTIONS.length + 3;
    const b = await w.started(total);
    // Recipients 1..2n fail, each description twice (in different batches); the last three are delivered.
    w.respondWith((message, index): SendResult => {
      const id = Number(message.recipientId);
      if (id > 2 * DESCRIPTIONS.length) return { status: "delivered", messageId: index + 1 };
      return {
        status: "failed",
        kind: "permanent",
        description: DESCRIPTIONS[(id - 1) % DESCRIPTIONS.length]!,
      };
    });

    await w.settle();

    const done = await w.broadcast(b.id);
    expect(done).toMatchObject({
      status: "completed",
      sentCount: 3,
      failedCount: 2 * DESCRIPTIONS.length,
      totalRecipients: total,
    });
    expect(w.sender.calls).toHaveLength(total);
    const expected = new Map(DESCRIPTIONS.map((d) => [normalizeDescription(d), 2]));
    expect(new Map(Object.entries(done.errorCounts))).toEqual(expected);
    expect(errorSummary(done.failedCount, done.errorCounts)).toBe(
      errorSummary(2 * DESCRIPTIONS.length, Object.fromEntries(expected)),
    );
    expect(done.errorLog.map((entry) => [entry.recipientId, entry.error])).toEqual(
      Array.from({ length: 2 * DESCRIPTIONS.length }, (_, i) => [
        i + 1,
        normalizeDescription(DESCRIPTIONS[i % DESCRIPTIONS.length]!),
      ]),
    );
    const failed = (await w.recipients(b.id)).filter((r) => r.state === "failed");
    expect(failed.map((r) => r.lastError)).toEqual(done.errorLog.map((entry) => entry.error));
  });

  it("pause on refused content with the platform's description normalised", async () => {
    w = await makeWorld(factory);
    const b = await w.started(2);
    w.respondWith(() => ({ status: "failed", kind: "content", description: "can't parse \u0000 \uDC00" }));

    await w.settle();

    expect(await w.broadcast(b.id)).toMatchObject({
      status: "paused",
      pauseReason: { type: "content_refused", description: "can't parse \uFFFD \uFFFD" },
    });
  });
});
