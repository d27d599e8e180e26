import { describe, expect, it } from "vitest";
import { createTelegramSender, type TelegramLimits } from "../../../src/adapters/telegram/index.js";
import { botAnswers, createFakeBotApi } from "../../../src/testing/fake-bot-api.js";
import { createManualClock } from "../../../src/testing/manual-clock.js";
import { gapsOf, message, mostInAnyWindow, TOKEN } from "./support.js";

const T0 = Date.UTC(2025, 0, 1);

/**
 * Simulated time: the sender waits by advancing a manual clock, and the look-alike, called
 * in-process, stamps arrivals with the same clock. Pacing is then exact and the tests instant.
 * Calls are made one at a time, as a manual clock cannot interleave concurrent waits.
 */
function simulated(options: { paidBroadcast?: boolean; limits?: Partial<TelegramLimits> } = {}) {
  const clock = createManualClock(T0);
  const api = createFakeBotApi({ clock });
  const sender = createTelegramSender({ token: TOKEN, fetch: api.fetch, clock, ...options });
  return { clock, api, sender };
}

async function sendAll(sender: ReturnType<typeof simulated>["sender"], chats: readonly (number | string)[]) {
  const results = [];
  for (const chat of chats) results.push(await sender.send(message(chat)));
  return results;
}

const distinctChats = (count: number, from = 1) => Array.from({ length: count }, (_, i) => from + i);

describe("pacing at Telegram's default limits (simulated time)", () => {
  it("never lets a one-second window hold more than 30 messages", async () => {
    const { api, sender } = simulated();
    await sendAll(sender, distinctChats(300));
    expect(api.requests).toHaveLength(300);
    expect(mostInAnyWindow(api.requests, 1000)).toBe(30);
  });

  it("sends close to the limit: 300 messages take about ten seconds", async () => {
    const { api, sender } = simulated();
    await sendAll(sender, distinctChats(300));
    const spanMs = (api.requests.at(-1)?.at.getTime() ?? 0) - T0;
    // 299 gaps of 1000 / 30 ms, each rounded to whole milliseconds.
    expect(spanMs).toBeGreaterThanOrEqual(9_900);
    expect(spanMs).toBeLessThanOrEqual(10_100);
  });

  it("lifts the overall limit to 1,000 per second with paid broadcast", async () => {
    const { api, sender } = simulated({ paidBroadcast: true });
    await sendAll(sender, distinctChats(2_500));
    expect(mostInAnyWindow(api.requests, 1000)).toBe(1000);
    expect(api.requests.every((r) => r.body.allow_paid_broadcast === true)).toBe(true);
  });

  it("sends one message per second to the same chat", async () => {
    const { api, sender } = simulated();
    await sendAll(sender, [5, 5, 5, 5]);
    expect(gapsOf(api.requests).every((gap) => gap >= 1000)).toBe(true);
  });

  it("does not hold other chats back while one chat waits its second", async () => {
    const { api, sender } = simulated();
    await sendAll(sender, [5, 6, 7]);
    const last = api.requests.at(-1)?.at.getTime() ?? 0;
    expect(last - T0).toBeLessThan(1000);
  });

  it("sends at most 20 messages per minute to one group", async () => {
    const { api, sender } = simulated();
    await sendAll(
      sender,
      Array.from({ length: 45 }, () => -100500),
    );
    expect(mostInAnyWindow(api.requests, 60_000)).toBeLessThanOrEqual(20);
    expect(mostInAnyWindow(api.requests, 1_000)).toBe(1);
  });

  it("treats a channel @username as a group", async () => {
    const { api, sender } = simulated();
    await sendAll(
      sender,
      Array.from({ length: 25 }, () => "@news"),
    );
    expect(mostInAnyWindow(api.requests, 60_000)).toBeLessThanOrEqual(20);
  });

  it("follows limits given as options", async () => {
    const { api, sender } = simulated({ limits: { perSecond: 5, marginMs: 0 } });
    await sendAll(sender, distinctChats(50));
    expect(mostInAnyWindow(api.requests, 1000)).toBe(5);
  });
});

describe("a 429 pauses every send of the bot (simulated time)", () => {
  it("makes no call inside the retry_after window, to any chat", async () => {
    const { api, sender } = simulated();
    api.answerChat(3, botAnswers.tooManyRequests(5));
    const results = await sendAll(sender, distinctChats(10));
    expect(results[2]).toMatchObject({ status: "failed", kind: "transient", retryAfterMs: 5000 });

    const throttled = api.requests.find((r) => r.status === 429);
    const pausedUntil = (throttled?.at.getTime() ?? 0) + 5000;
    const after = api.requests.slice(api.requests.indexOf(throttled ?? api.requests[0]!) + 1);
    expect(after).toHaveLength(7);
    expect(after.every((r) => r.at.getTime() >= pausedUntil)).toBe(true);
  });

  it("lets a later, shorter retry_after not cut the longer pause short", async () => {
    const { api, sender } = simulated();
    api.answerChat(1, botAnswers.tooManyRequests(10));
    api.answerChat(2, botAnswers.tooManyRequests(1));
    await sendAll(sender, [1, 2, 3]);
    const first = api.requests[0]?.at.getTime() ?? 0;
    expect(api.requests[2]?.at.getTime()).toBeGreaterThanOrEqual(first + 10_000);
  });
});
