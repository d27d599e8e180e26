import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  broadcastIdSchema,
  chatIdSchema,
  countersSchema,
  createBroadcastSchema,
  listOptionsSchema,
  newRecipientSchema,
  parseInput,
  recipientIdSchema,
  retryOptionsSchema,
} from "../../src/core/schemas.js";
import { MAX_MESSAGE_LENGTH, renderTemplate } from "../../src/core/template.js";

/** The distinct paths a refusal names, or `null` when the input was accepted. */
function refusedPaths(
  schema: z.ZodType,
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): string[] | null {
  const result = parseInput(schema, input, prefix);
  if (result.isOk()) return null;
  const error = result.error;
  if (error.type !== "validation") throw new Error(`expected a validation error, got ${error.type}`);
  for (const issue of error.issues) expect(issue.message.length).toBeGreaterThan(0);
  return [...new Set(error.issues.map((issue) => issue.path))];
}

const created = (fields: Record<string, unknown>) => ({ message: { text: "Hello" }, ...fields });

describe("input refused at the boundary (§9): every refusal names the field", () => {
  it.each([
    ["an empty message", { message: { text: "" } }, ["message.text"]],
    ["a message of only blanks", { message: { text: "  \n " } }, ["message.text"]],
    [
      "a message over 4,096 characters",
      { message: { text: "x".repeat(MAX_MESSAGE_LENGTH + 1) } },
      ["message.text"],
    ],
    ["a missing message", {}, ["message"]],
    ["an unknown parse mode", { message: { text: "Hi", parseMode: "Markdown" } }, ["message.parseMode"]],
    ["a scheduledAt that is not a date", created({ scheduledAt: "tomorrow" }), ["scheduledAt"]],
    ["a scheduledAt without a time zone", created({ scheduledAt: "2030-01-01T09:00:00" }), ["scheduledAt"]],
    ["an invalid Date", created({ scheduledAt: new Date(Number.NaN) }), ["scheduledAt"]],
    ["a zero error threshold", created({ errorThreshold: 0 }), ["errorThreshold"]],
    ["an unknown field", created({ priority: "high" }), ["priority"]],
    ["two unknown fields", created({ priority: 1, tags: [] }), ["priority", "tags"]],
    ["an unknown field in the message", { message: { text: "Hi", entities: [] } }, ["message.entities"]],
  ])("refuses %s", (_, input, paths) => {
    expect(refusedPaths(createBroadcastSchema, input)).toEqual(paths);
  });

  it("accepts a message of exactly 4,096 characters and an ISO timestamp with an offset", () => {
    const input = {
      message: { text: "x".repeat(MAX_MESSAGE_LENGTH) },
      scheduledAt: "2030-01-01T09:00:00+03:00",
    };
    const parsed = parseInput(createBroadcastSchema, input)._unsafeUnwrap();
    expect(parsed.scheduledAt).toEqual(new Date("2030-01-01T06:00:00Z"));
  });

  it.each([
    ["a chat id that is a fraction", { recipientId: 1, chatId: 1.5 }, ["recipients.3.chatId"]],
    ["a chat id that is a name without @", { recipientId: 1, chatId: "durov" }, ["recipients.3.chatId"]],
    ["a chat id of @ and too few characters", { recipientId: 1, chatId: "@abc" }, ["recipients.3.chatId"]],
    ["a chat id of @ and a digit first", { recipientId: 1, chatId: "@1channel" }, ["recipients.3.chatId"]],
    ["a chat id beyond safe integers", { recipientId: 1, chatId: 2 ** 60 }, ["recipients.3.chatId"]],
    ["a negative recipient id", { recipientId: -1, chatId: 5 }, ["recipients.3.recipientId"]],
    ["a fractional recipient id", { recipientId: 2.5, chatId: 5 }, ["recipients.3.recipientId"]],
    ["an empty recipient id", { recipientId: "", chatId: 5 }, ["recipients.3.recipientId"]],
    [
      "a variable whose name is not an identifier",
      { recipientId: 1, chatId: 5, variables: { "first-name": "A" } },
      ["recipients.3.variables.first-name"],
    ],
    ["an unknown recipient field", { recipientId: 1, chatId: 5, name: "Ann" }, ["recipients.3.name"]],
  ])("refuses a recipient with %s, naming it by its place in the list", (_, input, paths) => {
    expect(refusedPaths(newRecipientSchema, input, ["recipients", 3])).toEqual(paths);
  });

  it.each([
    { recipientId: 0, chatId: 123_456_789 },
    { recipientId: "crm-42", chatId: -1_001_234_567_890 },
    { recipientId: 7, chatId: "@my_channel", variables: { first_name: "Ann", visits: 3, vip: true } },
  ])("accepts the recipient %j", (recipient) => {
    expect(refusedPaths(newRecipientSchema, recipient)).toBeNull();
  });

  it.each([0, -3, 1.5, "12", Number.MAX_SAFE_INTEGER + 2, null])("refuses the broadcast id %j", (id) => {
    expect(refusedPaths(broadcastIdSchema, id, ["id"])).toEqual(["id"]);
  });

  it.each([
    [{ sentCount: -1, failedCount: 0 }, ["sentCount"]],
    [{ sentCount: 1, failedCount: 0.5 }, ["failedCount"]],
    [{ sentCount: 1, failedCount: 0, pendingCount: 3 }, ["pendingCount"]],
  ])("refuses the counters %j", (counters, paths) => {
    expect(refusedPaths(countersSchema, counters)).toEqual(paths);
  });

  it.each([
    [{ limit: 0 }, ["limit"]],
    [{ limit: 1001 }, ["limit"]],
    [{ status: "done" }, ["status"]],
    [{ page: 2 }, ["page"]],
  ])("refuses the list options %j", (query, paths) => {
    expect(refusedPaths(listOptionsSchema, query)).toEqual(paths);
  });

  it("refuses a retry option that is not a boolean", () => {
    expect(refusedPaths(retryOptionsSchema, { includePermanent: "yes" })).toEqual(["includePermanent"]);
  });

  test.prop([fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER })])(
    "accepts every safe integer as a chat id",
    (chatId) => {
      expect(chatIdSchema.safeParse(chatId).success).toBe(true);
    },
  );

  test.prop([fc.string()])("accepts a string chat id only in the @channelusername form", (chatId) => {
    const accepted = chatIdSchema.safeParse(chatId).success;
    expect(accepted).toBe(/^@[A-Za-z][A-Za-z0-9_]{3,31}$/.test(chatId));
  });

  test.prop([fc.oneof(fc.integer({ max: -1 }), fc.double({ noInteger: true }))])(
    "refuses every negative or non-integer recipient id",
    (recipientId) => {
      expect(recipientIdSchema.safeParse(recipientId).success).toBe(false);
    },
  );
});

describe("text and numbers every store keeps exactly", () => {
  const NUL = "\u0000";
  const HIGH = "\ud83d";
  const LOW = "\ude00";
  const unstorable = [
    ["a NUL", `a${NUL}b`, /NUL/],
    ["a lone high surrogate", `a${HIGH}b`, /surrogate/],
    ["a lone low surrogate", `${LOW}b`, /surrogate/],
    ["a pair in the wrong order", `${LOW}${HIGH}`, /surrogate/],
  ] as const;

  /** The one issue a refusal names: its path and its message. */
  function refusal(schema: z.ZodType, input: unknown, prefix: readonly PropertyKey[] = []) {
    const error = parseInput(schema, input, prefix)._unsafeUnwrapErr();
    if (error.type !== "validation") throw new Error(`expected a validation error, got ${error.type}`);
    return error.issues;
  }

  describe.each(unstorable)("a text with %s", (_, text, reason) => {
    it("is refused as the message text", () => {
      expect(refusal(createBroadcastSchema, { message: { text } })).toEqual([
        { path: "message.text", message: expect.stringMatching(reason) },
      ]);
    });

    it("is refused as createdBy", () => {
      expect(refusal(createBroadcastSchema, created({ createdBy: text }))).toEqual([
        { path: "createdBy", message: expect.stringMatching(reason) },
      ]);
    });

    it("is refused as a string recipient id", () => {
      expect(refusal(newRecipientSchema, { recipientId: text, chatId: 1 }, ["recipients", 3])).toEqual([
        { path: "recipients.3.recipientId", message: expect.stringMatching(reason) },
      ]);
    });

    it("is refused as a @channel chat id", () => {
      expect(
        refusal(newRecipientSchema, { recipientId: 1, chatId: `@chan${text}nel` }, ["recipients", 3]),
      ).toEqual([{ path: "recipients.3.chatId", message: expect.any(String) }]);
    });

    it("is refused as a variable's value and as a variable's name", () => {
      const recipient = { recipientId: 1, chatId: 1, variables: { name: text, [`x${text}`]: "y" } };
      expect(refusal(newRecipientSchema, recipient, ["recipients", 3])).toEqual([
        { path: "recipients.3.variables.name", message: expect.stringMatching(reason) },
        { path: `recipients.3.variables.x${text}`, message: "variable names are identifiers" },
      ]);
    });
  });

  it("accepts every other text: pairs, emoji, Cyrillic, control characters other than NUL", () => {
    const text = "Привет 🚀 \ud83d\ude00 \u0001\u001f\t\n e\u0301";
    const parsed = parseInput(createBroadcastSchema, { message: { text }, createdBy: text })._unsafeUnwrap();
    expect(parsed).toEqual({ message: { text }, createdBy: text });
    const recipient = { recipientId: text, chatId: 1, variables: { name: text } };
    expect(parseInput(newRecipientSchema, recipient)._unsafeUnwrap()).toEqual(recipient);
  });

  test.prop([fc.string(), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string()])(
    "refuses every recipient id holding a lone surrogate",
    (before, surrogate, after) => {
      const id = `${before}${String.fromCharCode(surrogate)}${after}`;
      expect(recipientIdSchema.safeParse(id).success).toBe(false);
    },
  );

  test.prop([fc.string({ unit: "binary", minLength: 1, maxLength: 100 })])(
    "accepts every well-formed recipient id without NUL",
    (id) => {
      expect(recipientIdSchema.safeParse(id).success).toBe(!id.includes("\u0000"));
    },
  );

  it("keeps error thresholds within PostgreSQL's INTEGER", () => {
    expect(parseInput(createBroadcastSchema, created({ errorThreshold: 2_147_483_647 })).isOk()).toBe(true);
    expect(refusedPaths(createBroadcastSchema, created({ errorThreshold: 2_147_483_648 }))).toEqual([
      "errorThreshold",
    ]);
    expect(refusedPaths(createBroadcastSchema, created({ errorThreshold: Number.MAX_SAFE_INTEGER }))).toEqual(
      ["errorThreshold"],
    );
  });

  it.each([2 ** 53, -(2 ** 53), 1e300])(
    "refuses the unsafe integer %d as createdBy, recipient and chat id",
    (n) => {
      expect(refusedPaths(createBroadcastSchema, created({ createdBy: n }))).toEqual(["createdBy"]);
      expect(refusedPaths(newRecipientSchema, { recipientId: n, chatId: n })).toEqual([
        "recipientId",
        "chatId",
      ]);
    },
  );
});

describe("keys that name Object.prototype's members are ordinary keys", () => {
  const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty"];
  /** As `JSON.parse` builds it: `__proto__` is an own key there, not the prototype. */
  const variables = JSON.parse('{"__proto__":"p","constructor":"c","toString":"t","hasOwnProperty":"h"}');

  it("keeps each of them in a recipient's variables, with its value", () => {
    const parsed = parseInput(newRecipientSchema, { recipientId: 1, chatId: 1, variables })._unsafeUnwrap();
    expect(Object.keys(parsed.variables ?? {})).toEqual(PROTOTYPE_NAMES);
    expect(Object.entries(parsed.variables ?? {})).toEqual([
      ["__proto__", "p"],
      ["constructor", "c"],
      ["toString", "t"],
      ["hasOwnProperty", "h"],
    ]);
  });

  it("renders them in templates", () => {
    const parsed = parseInput(newRecipientSchema, { recipientId: 1, chatId: 1, variables })._unsafeUnwrap();
    const text = "{{__proto__}} {{constructor}} {{toString}} {{hasOwnProperty}} {{valueOf|-}}";
    expect(renderTemplate(text, parsed.variables)).toBe("p c t h -");
  });

  it.each(PROTOTYPE_NAMES)("names %s as the field of a refusal", (name) => {
    const bad = JSON.parse(`{"recipientId":1,"chatId":1,"variables":{"${name}":[]},"${name}":1}`);
    expect(refusedPaths(newRecipientSchema, bad, ["recipients", 0])).toEqual([
      `recipients.0.variables.${name}`,
      `recipients.0.${name}`,
    ]);
    expect(refusedPaths(createBroadcastSchema, JSON.parse(`{"message":{"text":"Hi"},"${name}":1}`))).toEqual([
      name,
    ]);
  });
});
