import { Api } from "grammy";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTelegramSender } from "../../../src/adapters/telegram/index.js";
import { botAnswers, closedPortUrl, createFakeBotApi } from "../../../src/testing/fake-bot-api.js";
import { createManualClock } from "../../../src/testing/manual-clock.js";
import { message, TOKEN } from "./support.js";

/** A real grammY `Api`, as a host passes `bot.api`, talking to the look-alike. */
const api = createFakeBotApi({ token: TOKEN });
let grammy: Api;

beforeAll(async () => {
  grammy = new Api(TOKEN, { apiRoot: (await api.start()).url });
});
afterAll(() => api.close());
beforeEach(() => api.reset());

describe("createTelegramSender({ api: bot.api })", () => {
  it("delivers through grammY with Telegram's message id", async () => {
    const result = await createTelegramSender({ api: grammy }).send({
      ...message(5, "<b>hi</b>"),
      parseMode: "HTML",
    });
    expect(result).toEqual({ status: "delivered", messageId: api.requests[0]?.messageId });
    expect(api.requests[0]?.body).toMatchObject({ chat_id: 5, text: "<b>hi</b>", parse_mode: "HTML" });
  });

  it("sends allow_paid_broadcast through grammY when paid", async () => {
    await createTelegramSender({ api: grammy, paidBroadcast: true }).send(message(5));
    expect(api.requests[0]?.body).toMatchObject({ allow_paid_broadcast: true });
  });

  it("maps grammY's errors by their shape: 429 with retry_after", async () => {
    api.answerChat(5, botAnswers.tooManyRequests(2));
    expect(await createTelegramSender({ api: grammy }).send(message(5))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Too Many Requests: retry after 2",
      retryAfterMs: 2000,
    });
  });

  it("maps a 403 to permanent and a 400 can't parse entities to content", async () => {
    api.answerChat(5, botAnswers.forbidden("user is deactivated"));
    api.answerChat(6, botAnswers.badRequest("can't parse entities: bad tag"));
    const sender = createTelegramSender({ api: grammy });
    expect(await sender.send(message(5))).toMatchObject({
      kind: "permanent",
      description: "Forbidden: user is deactivated",
    });
    expect(await sender.send(message(6))).toMatchObject({ kind: "content" });
  });

  it("maps migrate_to_chat_id to a transient failure carrying the new id", async () => {
    api.answerChat(-5, botAnswers.migrated(-1005));
    expect(await createTelegramSender({ api: grammy }).send(message(-5))).toMatchObject({
      kind: "transient",
      migrateToChatId: -1005,
    });
  });

  it("maps grammY's HttpError (connection refused) to a transient network error", async () => {
    const refused = new Api(TOKEN, { apiRoot: await closedPortUrl() });
    expect(await createTelegramSender({ api: refused }).send(message(5))).toMatchObject({
      status: "failed",
      kind: "transient",
      description: expect.stringMatching(/^Network error/),
    });
  });

  it("times a slow grammY call out as a transient Network timeout", async () => {
    api.answerChat(5, botAnswers.slow(5_000));
    expect(await createTelegramSender({ api: grammy, timeoutMs: 150 }).send(message(5))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Network timeout",
    });
  });

  it("paces grammY calls like fetch calls: a 429 pauses every chat", async () => {
    const clock = createManualClock(Date.UTC(2025, 0, 1));
    const sender = createTelegramSender({ api: grammy, clock });
    api.answerChat(1, botAnswers.tooManyRequests(3));
    const before = clock.now().getTime();
    await sender.send(message(1));
    await sender.send(message(2));
    expect(clock.now().getTime() - before).toBeGreaterThanOrEqual(3000);
    expect(api.requests.map((r) => r.status)).toEqual([429, 200]);
  });
});
