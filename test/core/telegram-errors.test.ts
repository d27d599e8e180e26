import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  classifyTelegramError,
  classifyTransportFailure,
  DEFAULT_RETRY_AFTER_MS,
  TELEGRAM_DESCRIPTION_RULES,
} from "../../src/core/telegram-errors.js";

const answer = (error_code: number, description: string) => ({ error_code, description });

describe("classifyTelegramError: flood control", () => {
  it("classifies 429 as transient and converts retry_after seconds to retryAfterMs", () => {
    expect(
      classifyTelegramError({
        error_code: 429,
        description: "Too Many Requests: retry after 7",
        parameters: { retry_after: 7 },
      }),
    ).toEqual({
      status: "failed",
      kind: "transient",
      description: "Too Many Requests: retry after 7",
      retryAfterMs: 7000,
    });
  });

  it("waits a default second on a 429 that carries no retry_after", () => {
    expect(classifyTelegramError(answer(429, "Too Many Requests")).retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
  });

  it("reads a 429 from the HTTP status when the body was not the Bot API's", () => {
    expect(classifyTelegramError({ status: 429 })).toMatchObject({ kind: "transient", retryAfterMs: 1000 });
  });
});

describe("classifyTelegramError: chat migration", () => {
  it("reports migrate_to_chat_id as a transient failure carrying the new chat id", () => {
    expect(
      classifyTelegramError({
        error_code: 400,
        description: "Bad Request: group chat was upgraded to a supergroup chat",
        parameters: { migrate_to_chat_id: -1001234567890 },
      }),
    ).toEqual({
      status: "failed",
      kind: "transient",
      description: "Bad Request: group chat was upgraded to a supergroup chat",
      migrateToChatId: -1001234567890,
    });
  });
});

describe("classifyTelegramError: refusals of one recipient are permanent", () => {
  it.each([
    [403, "Forbidden: bot was blocked by the user"],
    [403, "Forbidden: user is deactivated"],
    [403, "Forbidden: bot was kicked from the group chat"],
    [403, "Forbidden: bot was kicked from the supergroup chat"],
    [403, "Forbidden: bot can't initiate conversation with a user"],
    [403, "Forbidden: bots can't send messages to bots"],
    [403, "Forbidden: bot is not a member of the channel chat"],
    [400, "Bad Request: chat not found"],
    [400, "Bad Request: PEER_ID_INVALID"],
    [400, "Bad Request: not enough rights to send text messages to the chat"],
  ])("%i %s -> permanent", (code, description) => {
    expect(classifyTelegramError(answer(code, description))).toEqual({
      status: "failed",
      kind: "permanent",
      description,
    });
  });
});

describe("classifyTelegramError: refusals of the message itself are content failures", () => {
  it.each([
    'Bad Request: can\'t parse entities: Unsupported start tag "foo" at byte offset 0',
    "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    "Bad Request: message is too long",
    "Bad Request: message text is empty",
    "Bad Request: text must be non-empty",
    "Bad Request: unsupported parse_mode",
  ])("400 %s -> content", (description) => {
    expect(classifyTelegramError(answer(400, description))).toEqual({
      status: "failed",
      kind: "content",
      description,
    });
  });

  it.each([
    [401, "Unauthorized"],
    [404, "Not Found"],
  ])("%i %s (the bot itself is refused) -> content, so the broadcast pauses", (code, description) => {
    expect(classifyTelegramError(answer(code, description)).kind).toBe("content");
  });
});

describe("classifyTelegramError: what may work later is transient", () => {
  it.each([
    [500, "Internal Server Error"],
    [502, "Bad Gateway"],
    [503, "Service Unavailable"],
  ])("%i %s -> transient", (code, description) => {
    expect(classifyTelegramError(answer(code, description))).toEqual({
      status: "failed",
      kind: "transient",
      description,
    });
  });

  it("names a bare HTTP status when no description came", () => {
    expect(classifyTelegramError({ status: 502 })).toEqual({
      status: "failed",
      kind: "transient",
      description: "HTTP 502",
    });
  });

  it.each([
    [400, "Bad Request: something Telegram adds next year"],
    [403, "Forbidden: a reason nobody has seen yet"],
    [409, "Conflict: terminated by other getUpdates request"],
    [418, "I'm a teapot"],
  ])("%i %s (unknown) -> transient: retried a few times rather than failed for good", (code, description) => {
    expect(classifyTelegramError(answer(code, description)).kind).toBe("transient");
  });

  it("matches a description only under its own error code", () => {
    expect(classifyTelegramError(answer(500, "bot was blocked by the user")).kind).toBe("transient");
    expect(classifyTelegramError(answer(403, "chat not found")).kind).toBe("transient");
  });

  it("matches descriptions whatever their case", () => {
    expect(classifyTelegramError(answer(403, "FORBIDDEN: BOT WAS BLOCKED BY THE USER")).kind).toBe(
      "permanent",
    );
  });
});

describe("classifyTransportFailure", () => {
  it("reports a timeout as a transient 'Network timeout'", () => {
    expect(classifyTransportFailure({ type: "timeout" })).toEqual({
      status: "failed",
      kind: "transient",
      description: "Network timeout",
    });
  });

  it("reports a network error as transient, naming its system code", () => {
    expect(classifyTransportFailure({ type: "network", reason: "ECONNREFUSED" })).toEqual({
      status: "failed",
      kind: "transient",
      description: "Network error: ECONNREFUSED",
    });
    expect(classifyTransportFailure({ type: "network" }).description).toBe("Network error");
  });
});

describe("classifyTelegramError: invariants", () => {
  it("keeps a table whose rows each match their own description", () => {
    for (const rule of TELEGRAM_DESCRIPTION_RULES) {
      expect(classifyTelegramError(answer(rule.code, `Prefix: ${rule.contains}`)).kind).toBe(rule.kind);
    }
  });

  test.prop([
    fc.record(
      {
        error_code: fc.integer({ min: 100, max: 599 }),
        status: fc.integer({ min: 100, max: 599 }),
        description: fc.string(),
        parameters: fc.record(
          { retry_after: fc.integer({ min: 1, max: 3600 }), migrate_to_chat_id: fc.integer({ max: -1 }) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
  ])("always answers a failed result with a non-empty description, and is deterministic", (input) => {
    const result = classifyTelegramError(input);
    expect(result.status).toBe("failed");
    expect(result.description.length).toBeGreaterThan(0);
    expect(classifyTelegramError(input)).toEqual(result);
  });

  test.prop([fc.integer({ min: 500, max: 599 }), fc.string()])(
    "never fails a recipient for a 5xx",
    (code, text) => {
      expect(classifyTelegramError(answer(code, text)).kind).toBe("transient");
    },
  );
});
