import { afterEach, describe, expect, it } from "vitest";
import {
  botAnswers,
  closedPortUrl,
  createFakeBotApi,
  type FakeBotApi,
} from "../../../src/testing/fake-bot-api.js";
import { createManualClock } from "../../../src/testing/manual-clock.js";
import { simulatedTime } from "./simulated-time.js";

/** The look-alike hosts use in their own tests: it must answer the way Telegram does. */
let api: FakeBotApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const post = (fetcher: typeof fetch, url: string, body: unknown, init: RequestInit = {}) =>
  fetcher(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });

describe("createFakeBotApi over HTTP", () => {
  it("listens on 127.0.0.1 on a free port and answers sendMessage with increasing message ids", async () => {
    api = createFakeBotApi({ firstMessageId: 10 });
    const { url } = await api.start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const first = await (await post(fetch, `${url}/bot1:x/sendMessage`, { chat_id: 5, text: "a" })).json();
    const second = await (await post(fetch, `${url}/bot1:x/sendMessage`, { chat_id: 5, text: "b" })).json();
    expect(first).toMatchObject({ ok: true, result: { message_id: 10, chat: { id: 5 } } });
    expect(second).toMatchObject({ ok: true, result: { message_id: 11 } });
  });

  it("records each call's arrival time, method, chat, body and answer", async () => {
    const clock = createManualClock(Date.UTC(2025, 0, 1, 12));
    api = createFakeBotApi({ clock });
    const { url } = await api.start();
    await post(fetch, `${url}/bot1:x/sendMessage`, { chat_id: "-100", text: "hi", parse_mode: "HTML" });
    expect(api.requests).toEqual([
      {
        at: new Date(Date.UTC(2025, 0, 1, 12)),
        method: "sendMessage",
        chatId: -100,
        body: { chat_id: "-100", text: "hi", parse_mode: "HTML" },
        status: 200,
        messageId: 1,
      },
    ]);
  });

  it("answers programmed errors in the Bot API's shape, per chat and in order", async () => {
    api = createFakeBotApi();
    const { url } = await api.start();
    api.answerChat(5, botAnswers.tooManyRequests(3), botAnswers.forbidden());
    const send = async () =>
      (await post(fetch, `${url}/bot1:x/sendMessage`, { chat_id: 5, text: "a" })).json();
    expect(await send()).toEqual({
      ok: false,
      error_code: 429,
      description: "Too Many Requests: retry after 3",
      parameters: { retry_after: 3 },
    });
    expect(await send()).toEqual({
      ok: false,
      error_code: 403,
      description: "Forbidden: bot was blocked by the user",
    });
    expect(await send()).toMatchObject({ ok: true });
    expect(api.requests.map((r) => [r.status, r.retryAfter])).toEqual([
      [429, 3],
      [403, undefined],
      [200, undefined],
    ]);
  });

  it("answers programmed answers per call whatever the chat, after chat-specific ones", async () => {
    api = createFakeBotApi();
    api.answerNext(botAnswers.serverError()).answerChat(2, botAnswers.badRequest());
    const send = async (chat_id: number) =>
      (await post(api?.fetch ?? fetch, "http://fake/bot1:x/sendMessage", { chat_id, text: "a" })).status;
    expect([await send(2), await send(3), await send(3)]).toEqual([400, 500, 200]);
  });

  it("answers every call to a chat the same way with answerChatAlways", async () => {
    api = createFakeBotApi();
    api.answerChatAlways(9, botAnswers.forbidden("user is deactivated"));
    const send = async () =>
      (await post(api?.fetch ?? fetch, "http://fake/bot1:x/sendMessage", { chat_id: 9, text: "a" })).status;
    expect([await send(), await send(), await send()]).toEqual([403, 403, 403]);
  });

  it("refuses an empty or over-long text as Telegram does", async () => {
    api = createFakeBotApi();
    const send = async (text: string) =>
      (await post(api?.fetch ?? fetch, "http://fake/bot1:x/sendMessage", { chat_id: 1, text })).json();
    expect(await send(" ")).toMatchObject({
      error_code: 400,
      description: "Bad Request: message text is empty",
    });
    expect(await send("x".repeat(4097))).toMatchObject({
      error_code: 400,
      description: "Bad Request: message is too long",
    });
  });

  it("answers 401 to another token than the one it was given", async () => {
    api = createFakeBotApi({ token: "1:right" });
    const wrong = await post(api.fetch, "http://fake/bot1:wrong/sendMessage", { chat_id: 1, text: "a" });
    const right = await post(api.fetch, "http://fake/bot1:right/sendMessage", { chat_id: 1, text: "a" });
    expect([wrong.status, right.status]).toEqual([401, 200]);
  });

  it("answers a migrated group with migrate_to_chat_id", async () => {
    api = createFakeBotApi();
    api.answerChat(-5, botAnswers.migrated(-1005));
    const answer = await (
      await post(api.fetch, "http://fake/bot1:x/sendMessage", { chat_id: -5, text: "a" })
    ).json();
    expect(answer).toMatchObject({ error_code: 400, parameters: { migrate_to_chat_id: -1005 } });
  });

  it("holds a slow answer back until the client gives up", async () => {
    api = createFakeBotApi();
    const { url } = await api.start();
    api.answerChat(1, botAnswers.slow(10_000));
    const call = post(
      fetch,
      `${url}/bot1:x/sendMessage`,
      { chat_id: 1, text: "a" },
      { signal: AbortSignal.timeout(100) },
    );
    await expect(call).rejects.toThrow();
  });

  it("lists calls in arrival order, a slow one before a faster one that came after it", async () => {
    api = createFakeBotApi();
    api.answerChat(1, botAnswers.slow(200));
    const slow = post(api.fetch, "http://fake/bot1:x/sendMessage", { chat_id: 1, text: "a" });
    const fast = post(api.fetch, "http://fake/bot1:x/sendMessage", { chat_id: 2, text: "b" });
    await fast;
    expect(api.requests.map((r) => [r.chatId, r.status])).toEqual([
      [1, undefined],
      [2, 200],
    ]);
    await slow;
    expect(api.requests[0]?.status).toBe(200);
  });

  it("closes the connection without an answer for hangUp", async () => {
    api = createFakeBotApi();
    const { url } = await api.start();
    api.answerChat(1, botAnswers.hangUp());
    await expect(post(fetch, `${url}/bot1:x/sendMessage`, { chat_id: 1, text: "a" })).rejects.toThrow(
      TypeError,
    );
    expect(api.requests[0]?.status).toBeUndefined();
  });

  it("forgets requests and programmed answers on reset", async () => {
    api = createFakeBotApi();
    api.answerNext(botAnswers.serverError());
    await post(api.fetch, "http://fake/bot1:x/sendMessage", { chat_id: 1, text: "a" });
    api.answerNext(botAnswers.serverError());
    api.reset();
    const after = await post(api.fetch, "http://fake/bot1:x/sendMessage", { chat_id: 1, text: "a" });
    expect(after.status).toBe(200);
    expect(api.requests).toHaveLength(1);
  });
});

describe("createFakeBotApi with latency (a simulated round trip)", () => {
  const T0 = Date.UTC(2025, 0, 1);

  /** Sends one call at simulated time `at` and resolves to when its answer came back. */
  async function answeredAt(fake: FakeBotApi, sim: ReturnType<typeof simulatedTime>, chat_id = 1) {
    const response = await post(fake.fetch, "http://fake/bot1:x/sendMessage", { chat_id, text: "a" });
    await response.text();
    return { at: sim.now(), status: response.status };
  }

  it("holds each answer back by a fixed latency; the arrival time stays the moment the call arrived", async () => {
    const sim = simulatedTime(T0);
    api = createFakeBotApi({ clock: sim.clock, sleep: sim.sleep, latency: 120 });
    const answer = answeredAt(api, sim);
    const pending = sim.run(
      (async () => {
        await sim.sleep(50);
        return api?.requests[0]?.status;
      })(),
    );
    expect(await pending).toBeUndefined();
    expect(await sim.run(answer)).toEqual({ at: T0 + 120, status: 200 });
    expect(api.requests[0]).toMatchObject({ at: new Date(T0), status: 200 });
  });

  it("draws each round trip from base ± jitter with the given random", async () => {
    const sim = simulatedTime(T0);
    const draws = [0, 0.5, 0.75];
    api = createFakeBotApi({
      clock: sim.clock,
      sleep: sim.sleep,
      latency: { baseMs: 100, jitterMs: 40 },
      random: () => draws.shift() ?? 0.5,
    });
    const fake = api;
    const durations = await sim.run(
      (async () => {
        const taken: number[] = [];
        for (let i = 0; i < 3; i++) {
          const start = sim.now();
          taken.push((await answeredAt(fake, sim)).at - start);
        }
        return taken;
      })(),
    );
    expect(durations).toEqual([60, 100, 120]);
  });

  it("never answers sooner than at once, whatever the jitter", async () => {
    const sim = simulatedTime(T0);
    api = createFakeBotApi({
      clock: sim.clock,
      sleep: sim.sleep,
      latency: { baseMs: 10, jitterMs: 50 },
      random: () => 0,
    });
    expect((await sim.run(answeredAt(api, sim))).at).toBe(T0);
  });

  it("adds a slow answer's delay on top of the round trip", async () => {
    const sim = simulatedTime(T0);
    api = createFakeBotApi({ clock: sim.clock, sleep: sim.sleep, latency: 100 });
    api.answerChat(1, botAnswers.slow(250));
    expect((await sim.run(answeredAt(api, sim))).at).toBe(T0 + 350);
  });

  it("holds errors, hang-ups and refusals back by the round trip too", async () => {
    const sim = simulatedTime(T0);
    api = createFakeBotApi({ clock: sim.clock, sleep: sim.sleep, latency: 80 });
    api.answerChat(1, botAnswers.tooManyRequests(1));
    expect(await sim.run(answeredAt(api, sim))).toEqual({ at: T0 + 80, status: 429 });
  });

  it("waits on real timers by default", async () => {
    api = createFakeBotApi({ latency: 60 });
    const { url } = await api.start();
    const started = performance.now();
    await (await post(fetch, `${url}/bot1:x/sendMessage`, { chat_id: 1, text: "a" })).json();
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});

describe("botAnswers.serverError", () => {
  it.each([
    [500, "Internal Server Error"],
    [502, "Bad Gateway"],
    [503, "Service Unavailable"],
    [504, "Gateway Timeout"],
  ])("describes %i with its own reason phrase", (code, phrase) => {
    expect(botAnswers.serverError(code)).toEqual({ type: "error", errorCode: code, description: phrase });
  });

  it("keeps a description that was passed", () => {
    expect(botAnswers.serverError(502, "Bad Gateway: upstream down")).toMatchObject({
      description: "Bad Gateway: upstream down",
    });
  });
});

describe("closedPortUrl", () => {
  it("gives a URL where the connection is refused", async () => {
    const url = await closedPortUrl();
    const error = await fetch(`${url}/bot1:x/sendMessage`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe("ECONNREFUSED");
  });
});
