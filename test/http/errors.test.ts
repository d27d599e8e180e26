import { describe, expect, it } from "vitest";
import type { BroadcastError } from "../../src/core/errors.js";
import { formatBroadcastError } from "../../src/core/format-error.js";
import { ERROR_STATUS, type HttpError, wireError, wirePath } from "../../src/http/errors.js";
import { LOCALES, MESSAGES } from "../../src/http/messages.js";
import { errorBody, errorResponse } from "../../src/http/responses.js";

describe("the error table", () => {
  it.each([
    ["not_found", 404, "not_found"],
    ["route_not_found", 404, "not_found"],
    ["invalid_transition", 400, "invalid_transition"],
    ["validation", 400, "validation"],
    ["unauthenticated", 401, "unauthorized"],
    ["forbidden", 403, "forbidden"],
    ["method_not_allowed", 405, "method_not_allowed"],
    ["conflict", 409, "conflict"],
    ["lease_lost", 409, "conflict"],
    ["payload_too_large", 413, "payload_too_large"],
    ["unsupported_media_type", 415, "unsupported_media_type"],
    ["storage", 500, "internal"],
    ["internal", 500, "internal"],
  ] as const)("maps %s to %i %s", (type, status, code) => {
    expect(ERROR_STATUS[type]).toEqual({ status, code });
  });

  it("never shows the cause of a storage failure", async () => {
    const error: BroadcastError = {
      type: "storage",
      cause: new Error('relation "broadcasts" does not exist; password=hunter2'),
    };
    const response = errorResponse(error, MESSAGES.en);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      success: false,
      error: { code: "internal", message: "Internal server error" },
    });
    expect(text).not.toMatch(/hunter2|relation|Error/);
  });

  it("answers 405 with an Allow header", () => {
    const error: HttpError = { type: "method_not_allowed", method: "PUT", allowed: ["GET", "POST"] };
    const response = errorResponse(error, MESSAGES.en);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("GET, POST");
  });

  it("names both statuses of a refused transition", () => {
    const body = errorBody(
      { type: "invalid_transition", broadcastId: 7, from: "completed", to: "cancelled" },
      MESSAGES.en,
    );
    expect(body).toEqual({
      code: "invalid_transition",
      message: "Broadcast 7 cannot go from completed to cancelled",
    });
  });

  it("names the refused fields of a service error in the wire's spelling", () => {
    const error = wireError({
      type: "validation",
      issues: [
        { path: "recipients.3.chatId", message: "must be an integer chat id or @channelusername" },
        { path: "scheduledAt", message: "must be in the future" },
      ],
    });
    const body = errorBody(error, MESSAGES.en);
    expect(body.message).toBe(
      "Invalid input: recipients.3.chat_id: must be an integer chat id or @channelusername; scheduled_at: must be in the future",
    );
    expect(body.issues).toEqual([
      { path: "recipients.3.chat_id", message: "must be an integer chat id or @channelusername" },
      { path: "scheduled_at", message: "must be in the future" },
    ]);
  });

  it("shows the HTTP layer's own refusals with the paths as the client sent them", () => {
    const body = errorBody(
      { type: "validation", issues: [{ path: "recipients.0.recipientId", message: "unknown field" }] },
      MESSAGES.en,
    );
    expect(body.issues).toEqual([{ path: "recipients.0.recipientId", message: "unknown field" }]);
  });

  it("leaves errors other than validation as they are", () => {
    const error: BroadcastError = { type: "not_found", broadcastId: 3 };
    expect(wireError(error)).toBe(error);
  });

  it("caps how many issues a response lists", () => {
    const issues = Array.from({ length: 500 }, (_, i) => ({
      path: `recipients.${i}.chatId`,
      message: "bad",
    }));
    const body = errorBody({ type: "validation", issues }, MESSAGES.en);
    expect(body.issues).toHaveLength(50);
    expect(body.message).toMatch(/; \+495 more$/);
  });
});

describe("wire paths", () => {
  it.each([
    ["recipients.0.recipientId", "recipients.0.recipient_id"],
    ["message.parseMode", "message.parse_mode"],
    ["errorThreshold", "error_threshold"],
    ["message.text", "message.text"],
    ["", ""],
    ["recipients.2.variables.chatId", "recipients.2.variables.chatId"],
    ["constructor", "constructor"],
    ["__proto__", "__proto__"],
    ["recipients.0.toString", "recipients.0.toString"],
  ])("%s -> %s", (service, wire) => {
    expect(wirePath(service)).toBe(wire);
  });
});

describe("the words of the API", () => {
  const errors: BroadcastError[] = [
    { type: "not_found", broadcastId: 4 },
    { type: "invalid_transition", broadcastId: 4, from: "sent", to: "sending" },
    { type: "validation", issues: [{ path: "recipients.0.chat_id", message: "duplicate of recipients.2" }] },
    { type: "conflict", broadcastId: 4 },
    { type: "lease_lost", broadcastId: 4 },
  ];

  it.each(LOCALES.flatMap((locale) => errors.map((error) => [locale, error.type, error] as const)))(
    "%s: a %s error reads as formatBroadcastError says it",
    (locale, _, error) => {
      expect(errorBody(error, MESSAGES[locale]).message).toBe(formatBroadcastError(error, { locale }));
    },
  );

  it("a storage error stays the generic 500 text, which says even less", () => {
    const error: BroadcastError = { type: "storage", cause: new Error("disk full") };
    expect(errorBody(error, MESSAGES.en).message).toBe("Internal server error");
  });
});
