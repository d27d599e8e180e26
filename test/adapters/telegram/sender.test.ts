import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTelegramSender } from "../../../src/adapters/telegram/index.js";
import { renderTemplate } from "../../../src/core/template.js";
import { botAnswers, closedPortUrl, createFakeBotApi } from "../../../src/testing/fake-bot-api.js";
import { message, TOKEN } from "./support.js";

/** Every call here goes over real HTTP to the look-alike on 127.0.0.1. */
const api = createFakeBotApi({ token: TOKEN });
let apiRoot = "";

beforeAll(async () => {
  apiRoot = (await api.start()).url;
});
afterAll(() => api.close());
beforeEach(() => api.reset());

const sender = (options: { paidBroadcast?: boolean; timeoutMs?: number } = {}) =>
  createTelegramSender({ token: TOKEN, apiRoot, ...options });

describe("createTelegramSender over HTTP: deliveries", () => {
  it("delivers with Telegram's message ids, which increase", async () => {
    const telegram = sender();
    const first = await telegram.send(message(1));
    const second = await telegram.send(message(2));
    expect(first).toMatchObject({ status: "delivered" });
    expect(second).toMatchObject({ status: "delivered" });
    const ids = [first, second].map((r) => (r.status === "delivered" ? Number(r.messageId) : Number.NaN));
    expect(ids[1]).toBeGreaterThan(ids[0] ?? Number.POSITIVE_INFINITY);
  });

  it("posts chat_id, text and parse_mode as JSON to /bot<token>/sendMessage", async () => {
    await sender().send({ ...message(-1001, "<b>hi</b>"), parseMode: "HTML" });
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({
      method: "sendMessage",
      chatId: -1001,
      body: { chat_id: -1001, text: "<b>hi</b>", parse_mode: "HTML" },
    });
    expect(api.requests[0]?.body).not.toHaveProperty("allow_paid_broadcast");
  });

  it("sends the rendered text as it is: a variable escaped for HTML or MarkdownV2 arrives escaped", async () => {
    const telegram = sender();
    const html = renderTemplate("<b>Hi</b> {{name}}", { name: "<i>Bob</i> & co" }, "HTML");
    const markdown = renderTemplate("*Hi* {{name}}", { name: "_Bob_ 1.5!" }, "MarkdownV2");
    await telegram.send({ ...message(1, html), parseMode: "HTML" });
    await telegram.send({ ...message(2, markdown), parseMode: "MarkdownV2" });
    expect(api.requests.map((r) => [r.body.text, r.body.parse_mode])).toEqual([
      ["<b>Hi</b> &lt;i&gt;Bob&lt;/i&gt; &amp; co", "HTML"],
      ["*Hi* \\_Bob\\_ 1\\.5\\!", "MarkdownV2"],
    ]);
  });

  it("sends a channel's @username as it is", async () => {
    await sender().send(message("@news"));
    expect(api.requests[0]?.body.chat_id).toBe("@news");
  });

  it("sends allow_paid_broadcast when paid broadcast is on", async () => {
    await sender({ paidBroadcast: true }).send(message(7));
    expect(api.requests[0]?.body).toMatchObject({ allow_paid_broadcast: true });
  });
});

describe("createTelegramSender over HTTP: every class of failure", () => {
  it("reports a 429 as transient with retryAfterMs", async () => {
    api.answerChat(1, botAnswers.tooManyRequests(3));
    expect(await sender().send(message(1))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Too Many Requests: retry after 3",
      retryAfterMs: 3000,
    });
  });

  it.each([
    "bot was blocked by the user",
    "user is deactivated",
    "bot was kicked from the group chat",
    "bot can't initiate conversation with a user",
    "bots can't send messages to bots",
  ])("reports 403 %s as permanent, with Telegram's description", async (reason) => {
    api.answerChat(1, botAnswers.forbidden(reason));
    expect(await sender().send(message(1))).toEqual({
      status: "failed",
      kind: "permanent",
      description: `Forbidden: ${reason}`,
    });
  });

  it("reports 400 chat not found as permanent", async () => {
    api.answerChat(1, botAnswers.badRequest("chat not found"));
    expect(await sender().send(message(1))).toMatchObject({
      kind: "permanent",
      description: "Bad Request: chat not found",
    });
  });

  it.each([
    'can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    "message is too long",
    "message text is empty",
  ])("reports 400 %s as a content failure", async (reason) => {
    api.answerChat(1, botAnswers.badRequest(reason));
    expect(await sender().send(message(1))).toMatchObject({
      kind: "content",
      description: `Bad Request: ${reason}`,
    });
  });

  it("reports the look-alike's own checks as Telegram does: an over-long text is a content failure", async () => {
    expect(await sender().send(message(1, "x".repeat(4097)))).toMatchObject({
      kind: "content",
      description: "Bad Request: message is too long",
    });
  });

  it("reports a 500 as transient", async () => {
    api.answerChat(1, botAnswers.serverError(500));
    expect(await sender().send(message(1))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Internal Server Error",
    });
  });

  it("reports a proxy's HTML 502 page as a transient HTTP 502", async () => {
    api.answerChat(1, botAnswers.raw(502, "<html>Bad Gateway</html>"));
    expect(await sender().send(message(1))).toEqual({
      status: "failed",
      kind: "transient",
      description: "HTTP 502",
    });
  });

  it("reports an answer slower than the timeout as a transient Network timeout", async () => {
    api.answerChat(1, botAnswers.slow(5_000));
    expect(await sender({ timeoutMs: 150 }).send(message(1))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Network timeout",
    });
  });

  it("delivers an answer slower than usual but within the timeout", async () => {
    api.answerChat(1, botAnswers.slow(50));
    expect(await sender({ timeoutMs: 2_000 }).send(message(1))).toMatchObject({ status: "delivered" });
  });

  it("reports a refused connection as a transient network error", async () => {
    const refusing = createTelegramSender({ token: TOKEN, apiRoot: await closedPortUrl() });
    expect(await refusing.send(message(1))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Network error: ECONNREFUSED",
    });
  });

  it("reports a connection closed without an answer as a transient network error", async () => {
    api.answerChat(1, botAnswers.hangUp());
    const result = await sender().send(message(1));
    expect(result).toMatchObject({ status: "failed", kind: "transient" });
    expect(result.status === "failed" && result.description).toMatch(/^Network error/);
  });

  it("reports a migrated group with its new chat id, for the worker to resend there", async () => {
    api.answerChat(-42, botAnswers.migrated(-1009876543210));
    expect(await sender().send(message(-42))).toEqual({
      status: "failed",
      kind: "transient",
      description: "Bad Request: group chat was upgraded to a supergroup chat",
      migrateToChatId: -1009876543210,
    });
  });

  it("reports a wrong token (401) as a content failure, so the broadcast pauses instead of failing everyone", async () => {
    const wrong = createTelegramSender({ token: "987654321:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", apiRoot });
    expect(await wrong.send(message(1))).toEqual({
      status: "failed",
      kind: "content",
      description: "Unauthorized",
    });
  });

  it("answers later calls normally after a failure", async () => {
    api.answerChat(1, botAnswers.serverError());
    const telegram = sender();
    await telegram.send(message(1));
    expect(await telegram.send(message(2))).toMatchObject({ status: "delivered" });
  });
});
