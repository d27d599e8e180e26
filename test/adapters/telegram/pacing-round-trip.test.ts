import { describe, expect, it } from "vitest";
import { createTelegramSender, type TelegramLimits } from "../../../src/adapters/telegram/index.js";
import type { SendResult } from "../../../src/core/outcome.js";
import type { MessageSender } from "../../../src/ports/sender.js";
import { botAnswers, createFakeBotApi, type FakeLatency } from "../../../src/testing/fake-bot-api.js";
import { seededRandom, simulatedTime } from "./simulated-time.js";
import { message, mostInAnyWindow, mostInAnyWindowIfLate, TOKEN } from "./support.js";

const T0 = Date.UTC(2025, 0, 1);

/**
 * Simulated time with many callers at once: the sender and the look-alike (called in-process)
 * share one simulated clock and sleep, and the look-alike holds each answer back by a simulated
 * round trip. Runs are exact and repeat run after run (seeded jitter).
 */
function simulated(
  options: {
    latency?: FakeLatency;
    limits?: Partial<TelegramLimits>;
    paidBroadcast?: boolean;
    /** Wraps the look-alike's fetch: delays on the way *to* it (a stalled event loop, a slow leg). */
    wrapFetch?: (fetch: typeof globalThis.fetch) => typeof globalThis.fetch;
  } = {},
) {
  const sim = simulatedTime(T0);
  const api = createFakeBotApi({
    clock: sim.clock,
    sleep: sim.sleep,
    random: seededRandom(7),
    ...(options.latency === undefined ? {} : { latency: options.latency }),
  });
  const fetch = options.wrapFetch?.(api.fetch) ?? api.fetch;
  const sender = createTelegramSender({
    token: TOKEN,
    fetch,
    clock: sim.clock,
    sleep: sim.sleep,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.paidBroadcast === undefined ? {} : { paidBroadcast: options.paidBroadcast }),
  });
  return { sim, api, sender };
}

/** `callers` loops, each sending to fresh chats as soon as its last send was answered, until `until`. */
async function keepSending(
  sim: ReturnType<typeof simulatedTime>,
  sender: MessageSender,
  callers: number,
  until: number,
  firstChat = 1,
): Promise<SendResult[]> {
  let next = firstChat;
  const results: SendResult[] = [];
  const caller = async () => {
    while (sim.now() < until) results.push(await sender.send(message(next++)));
  };
  await sim.run(Promise.all(Array.from({ length: callers }, caller)));
  return results;
}

/** Arrivals per second between one second after T0 (the ramp-up) and `until`. */
function ratePerSecond(api: ReturnType<typeof createFakeBotApi>, until: number): number {
  const from = T0 + 1000;
  const counted = api.requests.filter((r) => r.at.getTime() >= from && r.at.getTime() < until).length;
  return counted / ((until - from) / 1000);
}

describe("pacing at real round trips, with many callers (simulated time)", () => {
  // What the guard costs is how much round trips vary above the fastest one: little at a steady
  // round trip, about 3 % when it varies by ±30 ms.
  it.each<{ roundTrip: string; latency: FakeLatency; share: number }>([
    { roundTrip: "300 ms", latency: 300, share: 0.99 },
    { roundTrip: "100 ± 30 ms", latency: { baseMs: 100, jitterMs: 30 }, share: 0.96 },
  ])(
    "reaches $share of 30/s at a $roundTrip round trip with 16 callers, no window over the limit",
    async ({ latency, share }) => {
      const { sim, api, sender } = simulated({ latency });
      const until = T0 + 11_000;
      const results = await keepSending(sim, sender, 16, until);
      expect(results.every((r) => r.status === "delivered")).toBe(true);
      expect(mostInAnyWindow(api.requests, 1000)).toBeLessThanOrEqual(30);
      expect(ratePerSecond(api, until)).toBeGreaterThanOrEqual(share * 30);
    },
  );

  it("reaches 99 % of paid broadcast's 1,000/s at 100 ms with 150 callers, no window over the limit", async () => {
    const { sim, api, sender } = simulated({ latency: 100, paidBroadcast: true });
    const until = T0 + 3_000;
    await keepSending(sim, sender, 150, until);
    expect(mostInAnyWindow(api.requests, 1000)).toBeLessThanOrEqual(1000);
    expect(ratePerSecond(api, until)).toBeGreaterThanOrEqual(0.99 * 1000);
  });

  it("is held to callers ÷ round trip when too few callers keep calls in flight", async () => {
    // Sizing: in flight ≈ rate × round trip. Two callers at 300 ms carry at most 2 / 0.3 s.
    const { sim, api, sender } = simulated({ latency: 300 });
    const until = T0 + 6_000;
    await keepSending(sim, sender, 2, until);
    expect(ratePerSecond(api, until)).toBeLessThanOrEqual(2 / 0.3);
  });

  it("counts a message from when it left: the message `limit` places later leaves about a second after it, not a round trip more", async () => {
    const { sim, api, sender } = simulated({ latency: 300, limits: { perSecond: 5 } });
    await keepSending(sim, sender, 8, T0 + 8_000);
    const at = api.requests.map((r) => r.at.getTime());
    // Past the ramp-up (16 answers make the round trip known), each gap of 5 is one window.
    const gaps = at.slice(20, 30).map((t, i) => (at[i + 25] ?? 0) - t);
    expect(gaps.every((gap) => gap >= 1000 && gap < 1000 + 300)).toBe(true);
  });
});

describe("the guard holds the next window back for a message that may have reached Telegram late", () => {
  it("counts a late-answered message as if it had reached Telegram as late as it may have", async () => {
    const { sim, api, sender } = simulated({ latency: 100, limits: { perSecond: 5 } });
    // 20 ordinary calls teach the pacer the round trip; then chat 21 is answered 400 ms late,
    // as if it had reached Telegram up to 400 ms after it left.
    api.answerChat(21, botAnswers.slow(400));
    await keepSending(sim, sender, 8, T0 + 8_000);
    expect(api.requests.some((r) => r.chatId === 21)).toBe(true);
    expect(mostInAnyWindowIfLate(api.requests, 21, 400)).toBeLessThanOrEqual(5);
  });

  it("keeps every window at Telegram within the limit when a call reaches it late (a stalled event loop, a slow leg)", async () => {
    const stalled = new Set([30, 31, 45, 70]);
    const { sim, api, sender } = simulated({
      latency: { baseMs: 100, jitterMs: 20 },
      limits: { perSecond: 10 },
      wrapFetch: (fetch) => async (input, init) => {
        const chat = JSON.parse(String(init?.body ?? "{}")).chat_id;
        // The call left the pacer, but reaches the look-alike 400 ms later.
        if (stalled.has(chat)) await sim.sleep(400);
        return fetch(input, init);
      },
    });
    await keepSending(sim, sender, 8, T0 + 12_000);
    expect(api.requests.filter((r) => stalled.has(Number(r.chatId)))).toHaveLength(4);
    expect(mostInAnyWindow(api.requests, 1000)).toBeLessThanOrEqual(10);
  });

  it("counts the first calls again once a faster round trip shows up (each caller's first call opens a connection)", async () => {
    // 40 callers start at once; each one's first call takes 200 ms more on the way there (a new
    // connection), so the first answers make the fastest round trip look 200 ms slower than it is.
    const { sim, api, sender } = simulated({
      latency: 50,
      limits: { perSecond: 100 },
      wrapFetch: (fetch) => async (input, init) => {
        const chat = JSON.parse(String(init?.body ?? "{}")).chat_id;
        if (chat <= 40) await sim.sleep(200);
        return fetch(input, init);
      },
    });
    await keepSending(sim, sender, 40, T0 + 3_000);
    expect(mostInAnyWindow(api.requests, 1000)).toBeLessThanOrEqual(100);
  });

  it("counts a call in every window while it is unanswered: with `limit` of them in flight, the line waits", async () => {
    const { sim, api, sender } = simulated({ latency: 50, limits: { perSecond: 3 } });
    for (const chat of [1, 2, 3]) api.answerChat(chat, botAnswers.slow(4_000));
    await keepSending(sim, sender, 6, T0 + 6_000);
    const [, , third, fourth] = api.requests;
    expect(fourth?.at.getTime()).toBeGreaterThanOrEqual((third?.at.getTime() ?? 0) + 4_050);
  });

  it("lets the others go on while one call hangs, counting it in every window until its answer", async () => {
    const { sim, api, sender } = simulated({ latency: 50, limits: { perSecond: 3 } });
    api.answerChat(1, botAnswers.slow(4_000));
    await keepSending(sim, sender, 6, T0 + 6_000);
    const beforeItsAnswer = api.requests.filter((r) => r.at.getTime() < T0 + 4_050);
    expect(beforeItsAnswer.length).toBeGreaterThan(8);
    // It may have reached Telegram at any moment until its answer: every window still holds 3.
    expect(mostInAnyWindowIfLate(api.requests, 1, 4_050)).toBeLessThanOrEqual(3);
  });
});

describe("first come, first served", () => {
  it("lets waiting calls go in the order they asked, with or without a signal", async () => {
    const { sim, api, sender } = simulated({ latency: 80, limits: { perSecond: 5 } });
    const chats = [9, 3, 7, 1, 8, 2, 6, 4, 5, 10, 12, 11];
    const { signal } = new AbortController();
    await sim.run(
      Promise.all(chats.map((chat, i) => sender.send(message(chat), i % 2 === 0 ? { signal } : {}))),
    );
    expect(api.requests.map((r) => r.chatId)).toEqual(chats);
  });

  it("gives two broadcasts sharing a sender about equal shares", async () => {
    const { sim, api, sender } = simulated({ latency: { baseMs: 100, jitterMs: 30 } });
    const until = T0 + 10_000;
    const broadcast = (id: number) => async () => {
      let next = 0;
      while (sim.now() < until) {
        next++;
        await sender.send({ ...message(id * 1_000_000 + next), broadcastId: id });
      }
    };
    const callers = [
      ...Array.from({ length: 8 }, () => broadcast(1)),
      ...Array.from({ length: 8 }, () => broadcast(2)),
    ];
    await sim.run(Promise.all(callers.map((caller) => caller())));
    const first = api.requests.filter((r) => Number(r.chatId) < 2_000_000).length;
    const second = api.requests.length - first;
    expect(api.requests.length).toBeGreaterThan(280);
    expect(Math.abs(first - second)).toBeLessThanOrEqual(0.02 * api.requests.length);
  });
});

describe("aborting a send that waits for its turn (simulated time)", () => {
  const aborted = () => {
    const controller = new AbortController();
    controller.abort();
    return controller.signal;
  };

  it("answers not_sent at once for an already-aborted signal, without calling Telegram", async () => {
    const { sim, api, sender } = simulated();
    expect(await sim.run(sender.send(message(1), { signal: aborted() }))).toEqual({ status: "not_sent" });
    expect(sim.now()).toBe(T0);
    expect(api.requests).toHaveLength(0);
  });

  it("gives up waiting calls when their signal aborts; the calls behind them are not slowed", async () => {
    const { sim, api, sender } = simulated({ latency: 50, limits: { perSecond: 5 } });
    const stop = new AbortController();
    const first = Array.from({ length: 20 }, (_, i) => sender.send(message(i + 1), { signal: stop.signal }));
    const behind = Array.from({ length: 5 }, (_, i) => sender.send(message(101 + i)));
    const abortAt = sim.sleep(500).then(() => stop.abort());
    const [results] = await sim.run(Promise.all([Promise.all(first), Promise.all(behind), abortAt]));
    // 0, 200 and 400 ms went; the other 17 gave up without calling Telegram.
    expect(results.filter((r) => r.status === "delivered")).toHaveLength(3);
    expect(results.slice(3).every((r) => r.status === "not_sent")).toBe(true);
    const arrivals = api.requests.map((r) => [r.chatId, r.at.getTime() - T0]);
    // The first call behind them takes the next slot (600 ms); the rest follow at the usual pace.
    expect(arrivals.slice(3, 5)).toEqual([
      [101, 600],
      [102, 800],
    ]);
    expect(api.requests).toHaveLength(8);
  });

  it("gives up a call waiting out a 429 pause", async () => {
    const { sim, api, sender } = simulated({ latency: 20 });
    api.answerChat(1, botAnswers.tooManyRequests(30));
    const stop = new AbortController();
    const throttled = sender.send(message(1));
    const waiting = sim.sleep(100).then(() => sender.send(message(2), { signal: stop.signal }));
    const abortAt = sim.sleep(2_000).then(() => stop.abort());
    const [, result] = await sim.run(Promise.all([throttled, waiting, abortAt]));
    expect(result).toEqual({ status: "not_sent" });
    expect(sim.now()).toBeLessThan(T0 + 30_000);
    expect(api.requests.map((r) => r.chatId)).toEqual([1]);
  });

  it("gives up a call waiting for its chat; the chat's next message keeps its gap from the last one sent", async () => {
    const { sim, api, sender } = simulated({ latency: 100 });
    const stop = new AbortController();
    const sends = Promise.all([
      sender.send(message(5)),
      sender.send(message(5), { signal: stop.signal }),
      sender.send(message(5)),
      sim.sleep(300).then(() => stop.abort()),
    ]);
    const [first, second, third] = await sim.run(sends);
    expect([first?.status, second?.status, third?.status]).toEqual(["delivered", "not_sent", "delivered"]);
    const [sentFirst, sentThird] = api.requests.map((r) => r.at.getTime() - T0);
    // One second after the first message's answer (100 ms), not two gaps.
    expect([sentFirst, sentThird]).toEqual([0, 1100]);
  });

  it("does not abandon a call that got its turn: its real outcome is answered", async () => {
    const { sim, api, sender } = simulated({ latency: 200 });
    const stop = new AbortController();
    const sending = sender.send(message(1), { signal: stop.signal });
    const abortAt = sim.sleep(50).then(() => stop.abort());
    const [result] = await sim.run(Promise.all([sending, abortAt]));
    expect(result).toMatchObject({ status: "delivered" });
    expect(api.requests[0]?.status).toBe(200);
  });
});
