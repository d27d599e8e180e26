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
        const checked = checker.check({ recipientId, chatId: 1 });
        expect(checked.isErr()).toBe(expectedDuplicate);
        if (checked.isErr()) expect(checked.error[0]?.path).toBe(`recipients.${index}.recipientId`);
      }
    },
  );
});
