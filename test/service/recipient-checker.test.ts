import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { newRecipientSchema } from "../../src/core/schemas.js";
import { plainRecipient, recipientChecker } from "../../src/service/recipient-checker.js";

const anyRecipientLike = fc.oneof(
  fc.record(
    {
      recipientId: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant(null)),
      chatId: fc.oneof(fc.integer(), fc.string(), fc.double(), fc.constant("@channel_name")),
      variables: fc.dictionary(fc.string(), fc.string()),
      extra: fc.anything(),
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);

describe("the recipient fast path", () => {
  test.prop([anyRecipientLike], { numRuns: 300 })("accepts nothing the recipient schema refuses", (input) => {
    if (plainRecipient(input) !== null) expect(newRecipientSchema.safeParse(input).success).toBe(true);
  });

  it("takes the common recipient as it is", () => {
    const recipient = { recipientId: 7, chatId: -100123 };
    expect(plainRecipient(recipient)).toBe(recipient);
  });
});

describe("duplicate recipient ids", () => {
  const ids = fc.array(
    fc.oneof(fc.nat({ max: 50 }), fc.nat({ max: 50 }).map(String), fc.constantFrom("a", "b")),
    {
      maxLength: 40,
    },
  );

  test.prop([ids, fc.boolean()], { numRuns: 200 })(
    'are refused exactly where an id (with 1 and "1" the same) was seen before, in any order',
    (list, sorted) => {
      const input = sorted ? [...list].sort((a, b) => Number(a) - Number(b)) : list;
      const checker = recipientChecker({ text: "Hi" });
      const seen = new Set<string>();

      for (const [index, recipientId] of input.entries()) {
        const expectedDuplicate = seen.has(String(recipientId));
        seen.add(String(recipientId));
        const checked = checker.check({ recipientId, chatId: 1000 + index });
        expect(checked.isErr()).toBe(expectedDuplicate);
        if (checked.isErr()) expect(checked.error[0]?.path).toBe(`recipients.${index}.recipientId`);
      }
    },
  );
});

describe("duplicate chats", () => {
  const chats = fc.array(
    fc.oneof(
      fc.integer({ min: -20, max: 20 }),
      fc.constantFrom("@channel_one", "@Channel_One", "@CHANNEL_ONE", "@channel_two"),
    ),
    { maxLength: 40 },
  );

  test.prop([chats, fc.boolean()], { numRuns: 200 })(
    "are refused exactly where a chat was seen before, naming where (@names in any case)",
    (list, sorted) => {
      const input = sorted ? [...list].sort((a, b) => Number(a) - Number(b)) : list;
      const checker = recipientChecker({ text: "Hi" });
      const firstAt = new Map<number | string, number>();

      for (const [index, chatId] of input.entries()) {
        const key = typeof chatId === "string" ? chatId.toLowerCase() : chatId;
        const first = firstAt.get(key);
        if (first === undefined) firstAt.set(key, index);
        const checked = checker.check({ recipientId: index, chatId });
        if (first === undefined) expect(checked.isOk()).toBe(true);
        else
          expect(checked._unsafeUnwrapErr()).toEqual([
            { path: `recipients.${index}.chatId`, message: `duplicate of recipients.${first}` },
          ]);
      }
    },
  );

  /** Runs of consecutive chats, gaps between them, refused recipients in between, then anything. */
  const runsThenAnything = fc
    .tuple(
      fc.array(
        fc.record({
          gap: fc.nat({ max: 3 }),
          length: fc.integer({ min: 1, max: 6 }),
          refusedAfter: fc.boolean(),
        }),
        { maxLength: 8 },
      ),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 60 }), fc.constant("refused" as const)), { maxLength: 10 }),
    )
    .map(([runs, tail]) => {
      const list: (number | "refused")[] = [];
      let next = 0;
      for (const { gap, length, refusedAfter } of runs) {
        next += gap;
        for (let i = 0; i < length; i++) list.push(next++);
        if (refusedAfter) list.push("refused");
      }
      return [...list, ...tail];
    });

  test.prop([runsThenAnything], { numRuns: 300 })(
    "are found among runs of consecutive chats, gaps and refused recipients, naming the first",
    (list) => {
      const checker = recipientChecker({ text: "Hi" });
      const firstAt = new Map<number, number>();
      for (const [index, entry] of list.entries()) {
        const checked = checker.check({ recipientId: index, chatId: entry === "refused" ? "nobody" : entry });
        if (entry === "refused") {
          expect(checked._unsafeUnwrapErr()).toEqual([
            { path: `recipients.${index}.chatId`, message: expect.any(String) },
          ]);
          continue;
        }
        const first = firstAt.get(entry);
        if (first === undefined) {
          firstAt.set(entry, index);
          expect(checked.isOk()).toBe(true);
        } else {
          expect(checked._unsafeUnwrapErr()).toEqual([
            { path: `recipients.${index}.chatId`, message: `duplicate of recipients.${first}` },
          ]);
        }
      }
    },
  );

  it("finds a duplicate in a run longer than one run can hold", () => {
    const checker = recipientChecker({ text: "Hi" });
    for (let i = 0; i < 70_000; i++) checker.check({ recipientId: i, chatId: 5_000_000 + i });
    expect(checker.check({ recipientId: 70_000, chatId: 5_066_000 })._unsafeUnwrapErr()).toEqual([
      { path: "recipients.70000.chatId", message: "duplicate of recipients.66000" },
    ]);
  });

  it("names the first occurrence counting refused recipients too", () => {
    const checker = recipientChecker({ text: "Hi" });
    expect(checker.check({ recipientId: 1, chatId: 10 }).isOk()).toBe(true);
    expect(checker.check({ recipientId: 2, chatId: "not a chat" }).isErr()).toBe(true);
    expect(checker.check({ recipientId: 3, chatId: 30 }).isOk()).toBe(true);
    expect(checker.check({ recipientId: 4, chatId: 20 }).isOk()).toBe(true);
    expect(checker.check({ recipientId: 5, chatId: 30 })._unsafeUnwrapErr()).toEqual([
      { path: "recipients.4.chatId", message: "duplicate of recipients.2" },
    ]);
    expect(checker.check({ recipientId: 6, chatId: 10 })._unsafeUnwrapErr()).toEqual([
      { path: "recipients.5.chatId", message: "duplicate of recipients.0" },
    ]);
  });

  it("names the right place in a long ascending list with a refused recipient in it", () => {
    const checker = recipientChecker({ text: "Hi" });
    for (let i = 0; i < 3000; i++) {
      const chatId = i === 1500 ? "nobody" : 10 * i;
      expect(checker.check({ recipientId: i, chatId }).isOk()).toBe(i !== 1500);
    }
    expect(checker.check({ recipientId: 3000, chatId: 10 * 2500 })._unsafeUnwrapErr()).toEqual([
      { path: "recipients.3000.chatId", message: "duplicate of recipients.2500" },
    ]);
    expect(checker.check({ recipientId: 3001, chatId: 5 }).isOk()).toBe(true);
    expect(checker.check({ recipientId: 3002, chatId: 5 })._unsafeUnwrapErr()).toEqual([
      { path: "recipients.3002.chatId", message: "duplicate of recipients.3001" },
    ]);
  });

  it("keeps a chat id and a recipient id apart: 5 may be both", () => {
    const checker = recipientChecker({ text: "Hi" });
    expect(checker.check({ recipientId: 5, chatId: 6 }).isOk()).toBe(true);
    expect(checker.check({ recipientId: 6, chatId: 5 }).isOk()).toBe(true);
  });
});
