import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelegramSender } from "../../../src/adapters/telegram/index.js";
import { botAnswers, createFakeBotApi } from "../../../src/testing/fake-bot-api.js";
import { message, mostInAnyWindow, mostInAnyWindowIfLate, TOKEN } from "./support.js";

const distinctChats = (count: number, from = 1) => Array.from({ length: count }, (_, i) => from + i);

/** Real time over HTTP, with concurrent sends: what a manual clock cannot show. Kept short. */
describe("pacing in real time, over HTTP, with concurrent sends", () => {
  const api = createFakeBotApi();
  let apiRoot = "";
  beforeAll(async () => {
    apiRoot = (await api.start()).url;
  });
  afterAll(() => api.close());

  it("keeps every one-second window at the look-alike within the limit while many sends wait at once", async () => {
    const sender = createTelegramSender({ token: TOKEN, apiRoot, limits: { perSecond: 10 } });
    const results = await Promise.all(distinctChats(16).map((chat) => sender.send(message(chat))));
    expect(results.every((r) => r.status === "delivered")).toBe(true);
    expect(api.requests).toHaveLength(16);
    expect(mostInAnyWindow(api.requests, 1000)).toBeLessThanOrEqual(10);
  });

  it("does not hold other chats back while one chat waits its second", async () => {
    api.reset();
    const sender = createTelegramSender({ token: TOKEN, apiRoot });
    await Promise.all([5, 5, 6, 7].map((chat) => sender.send(message(chat))));
    expect(api.requests.map((r) => r.chatId)).toEqual([5, 6, 7, 5]);
  });

  it("counts a chat's gap from its last message's answer, not from when it left", async () => {
    api.reset();
    const sender = createTelegramSender({ token: TOKEN, apiRoot, limits: { perChatPerSecond: 10 } });
    api.answerChat(5, botAnswers.slow(300));
    await Promise.all([sender.send(message(5)), sender.send(message(5))]);
    const [first, second] = api.requests;
    // 300 ms to answer the first, then the chat's 100 ms gap.
    expect((second?.at.getTime() ?? 0) - (first?.at.getTime() ?? 0)).toBeGreaterThanOrEqual(400);
  });

  it("keeps every window within the limit at a 60 ms round trip, with many callers", async () => {
    const slow = createFakeBotApi({ latency: 60 });
    try {
      const sender = createTelegramSender({
        token: TOKEN,
        apiRoot: (await slow.start()).url,
        limits: { perSecond: 10 },
      });
      let next = 1;
      const until = Date.now() + 2_500;
      const caller = async () => {
        while (Date.now() < until)
          expect(await sender.send(message(next++))).toMatchObject({ status: "delivered" });
      };
      await Promise.all(Array.from({ length: 12 }, caller));
      expect(slow.requests.length).toBeGreaterThan(10);
      expect(mostInAnyWindow(slow.requests, 1000)).toBeLessThanOrEqual(10);
    } finally {
      await slow.close();
    }
  });

  it("counts an unanswered call in every window, and until the round trip is known, from its answer", async () => {
    api.reset();
    const sender = createTelegramSender({ token: TOKEN, apiRoot, limits: { perSecond: 2 } });
    api.answerChat(1, botAnswers.slow(1200));
    await Promise.all([1, 2, 3, 4].map((chat) => sender.send(message(chat))));
    const [first, , , fourth] = api.requests;
    // Chat 1 may have reached Telegram at any moment until its answer, 1.2 s on.
    expect(mostInAnyWindowIfLate(api.requests, 1, 1200)).toBeLessThanOrEqual(2);
    // The fourth waits for that answer, then a window: no round trip is known yet to count from.
    expect((fourth?.at.getTime() ?? 0) - (first?.at.getTime() ?? 0)).toBeGreaterThanOrEqual(2200);
  });

  it("holds back every waiting send until a 429's retry_after has passed", async () => {
    api.reset();
    const sender = createTelegramSender({ token: TOKEN, apiRoot });
    api.answerChat(1, botAnswers.tooManyRequests(1));
    const results = await Promise.all(distinctChats(10).map((chat) => sender.send(message(chat))));
    expect(results[0]).toMatchObject({ retryAfterMs: 1000 });
    expect(results.slice(1).every((r) => r.status === "delivered")).toBe(true);

    const [throttled, ...after] = api.requests;
    expect(throttled?.status).toBe(429);
    expect(after).toHaveLength(9);
    expect(after.every((r) => r.at.getTime() - (throttled?.at.getTime() ?? 0) >= 1000)).toBe(true);
  });
});
