import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BASE, type Harness, startHarness } from "./harness.js";

const hint = (sent: string, meant: string) => ({
  path: sent,
  message: `unknown field; did you mean "${meant}"?`,
});

describe("a wire field sent in camelCase", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  it("is named as sent, with the right spelling, and its snake_case twin is not also called missing", async () => {
    const { status, json } = await h.api("POST", `${BASE}/`, {
      body: { message: "Hi", recipients: [{ recipientId: 1, chatId: 1 }] },
    });

    expect(status).toBe(400);
    expect(json.error.issues).toEqual([
      hint("recipients.0.recipientId", "recipient_id"),
      hint("recipients.0.chatId", "chat_id"),
    ]);
    expect(json.error.message).toBe(
      'Invalid input: recipients.0.recipientId: unknown field; did you mean "recipient_id"?; ' +
        'recipients.0.chatId: unknown field; did you mean "chat_id"?',
    );
  });

  it.each([
    ["scheduledAt", "scheduled_at", { message: "Hi", recipients: [], scheduledAt: "2030-01-01T00:00:00Z" }],
    ["errorThreshold", "error_threshold", { message: "Hi", recipients: [], errorThreshold: 3 }],
    ["message.parseMode", "parse_mode", { message: { text: "Hi", parseMode: "HTML" }, recipients: [] }],
  ])("on create: %s is answered with a hint to %s", async (sent, meant, body) => {
    const { status, json } = await h.api("POST", `${BASE}/`, { body });
    expect(status).toBe(400);
    expect(json.error.issues).toEqual([hint(sent, meant)]);
  });

  it("on retry: includePermanent is answered with a hint to include_permanent", async () => {
    const id = await h.createBroadcast(1);
    const { status, json } = await h.api("POST", `${BASE}/${id}/retry/`, {
      body: { includePermanent: true },
    });
    expect(status).toBe(400);
    expect(json.error.issues).toEqual([hint("includePermanent", "include_permanent")]);
  });

  it("on schedule: scheduledAt alone is one issue, not also a missing scheduled_at", async () => {
    const id = await h.createBroadcast(1);
    const { json } = await h.api("POST", `${BASE}/${id}/schedule/`, {
      body: { scheduledAt: "2030-01-01T00:00:00Z" },
    });
    expect(json.error.issues).toEqual([hint("scheduledAt", "scheduled_at")]);
  });

  it("still reports the snake_case field when the client sent that one too, and it is wrong", async () => {
    const { json } = await h.api("POST", `${BASE}/`, {
      body: { message: "Hi", recipients: [{ recipient_id: -1, recipientId: 1, chat_id: 1 }] },
    });
    expect(json.error.issues).toEqual([
      { path: "recipients.0.recipient_id", message: expect.any(String) },
      hint("recipients.0.recipientId", "recipient_id"),
    ]);
  });

  it("gives no hint for a camelCase name that is no wire field", async () => {
    const { json } = await h.api("POST", `${BASE}/`, {
      body: { message: "Hi", recipients: [], sendNow: true },
    });
    expect(json.error.issues).toEqual([{ path: "sendNow", message: "unknown field" }]);
  });
});
