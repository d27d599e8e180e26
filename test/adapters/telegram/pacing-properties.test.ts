import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { createTelegramSender } from "../../../src/adapters/telegram/index.js";
import { botAnswers, createFakeBotApi } from "../../../src/testing/fake-bot-api.js";
import { simulatedTime } from "./simulated-time.js";
import { message, mostInAnyWindow, TOKEN } from "./support.js";

const T0 = Date.UTC(2025, 0, 1);

/** How much longer than the network's floor one leg of a call takes: often nothing, sometimes a lot. */
const extraMs = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 600 }));

/**
 * A network as the pacer meets it: each leg (there, back) has a floor, and each call's legs take
 * that plus extra delays the pacer cannot see (queueing, a stalled event loop, a slow answer).
 * Every eighth call is as fast as the network allows both ways: the pacer's one assumption is
 * that its fastest recent call was (it counts a call from its answer minus that round trip).
 */
const network = fc.record({
  perSecond: fc.integer({ min: 2, max: 8 }),
  callers: fc.integer({ min: 1, max: 12 }),
  thereFloorMs: fc.integer({ min: 0, max: 150 }),
  backFloorMs: fc.integer({ min: 0, max: 150 }),
  extras: fc.array(fc.record({ there: extraMs, back: extraMs }), { minLength: 10, maxLength: 50 }),
});

describe("the pacer's promise, whatever the network does (simulated time)", () => {
  test.prop([network], { numRuns: 25 })(
    "no one-second window at Telegram's end holds more than the limit, however late calls reach it or come back",
    async ({ perSecond, callers, thereFloorMs, backFloorMs, extras }) => {
      const legs = extras.map((extra, i) =>
        i % 8 === 7
          ? { there: thereFloorMs, back: backFloorMs }
          : { there: thereFloorMs + extra.there, back: backFloorMs + extra.back },
      );
      const sim = simulatedTime(T0);
      const api = createFakeBotApi({ clock: sim.clock, sleep: sim.sleep });
      for (const [i, { back }] of legs.entries()) api.answerChat(i + 1, botAnswers.slow(back));
      const sender = createTelegramSender({
        token: TOKEN,
        clock: sim.clock,
        sleep: sim.sleep,
        limits: { perSecond },
        fetch: async (input, init) => {
          const chat = JSON.parse(String(init?.body ?? "{}")).chat_id;
          await sim.sleep(legs[chat - 1]?.there ?? 0);
          return api.fetch(input, init);
        },
      });
      let next = 1;
      const caller = async () => {
        while (next <= legs.length) await sender.send(message(next++));
      };
      await sim.run(Promise.all(Array.from({ length: callers }, caller)));
      expect(api.requests).toHaveLength(legs.length);
      expect(mostInAnyWindow(api.requests, 1000)).toBeLessThanOrEqual(perSecond);
    },
  );
});
