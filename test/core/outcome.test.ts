import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import {
  DELIVERY_UNKNOWN,
  decideOutcome,
  idempotencyKey,
  MAX_DESCRIPTION_LENGTH,
  normalizeDescription,
  type OutcomeContext,
  type RecipientOutcome,
  type SendResult,
} from "../../src/core/outcome.js";
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  retryDelayMs,
  retryPolicy,
} from "../../src/core/retry-policy.js";
import { T0 } from "./fixtures.js";

const ctx = (attemptsBefore: number, overrides: Partial<OutcomeContext> = {}): OutcomeContext => ({
  recipientId: 42,
  attemptsBefore,
  policy: DEFAULT_RETRY_POLICY,
  now: T0,
  ...overrides,
});
const at = (ms: number): Date => new Date(T0.getTime() + ms);

const timeout: SendResult = { status: "failed", kind: "transient", description: "Network timeout" };
const blocked: SendResult = {
  status: "failed",
  kind: "permanent",
  description: "Forbidden: bot was blocked by the user",
};
const tooManyRequests: SendResult = {
  status: "failed",
  kind: "transient",
  description: "Too Many Requests: retry after 30",
  retryAfterMs: 30_000,
};
const unparsable: SendResult = {
  status: "failed",
  kind: "content",
  description: "Bad Request: can't parse entities",
};

/**
 * One recipient's life under the policy: each answer is one call to the sender; a `retry` outcome
 * leads to the next call at its `nextAttemptAt`. When the scripted answers run out, the sender
 * keeps timing out. Returns every call and the outcome that ended it.
 */
function lifeOf(answers: readonly SendResult[], policy: RetryPolicy) {
  const calls: { at: Date; answer: SendResult; outcome: RecipientOutcome }[] = [];
  let attemptsBefore = 0;
  let now = T0;
  for (let i = 0; i < 10_000; i++) {
    const answer = answers[i] ?? timeout;
    const outcome = decideOutcome(answer, { recipientId: 1, attemptsBefore, policy, now });
    calls.push({ at: now, answer, outcome });
    if (outcome.type !== "retry") return { calls, end: outcome };
    attemptsBefore = outcome.attempts;
    now = outcome.nextAttemptAt;
  }
  throw new Error("a recipient was retried forever");
}

const isThrottle = (a: SendResult) => a.status === "failed" && (a.retryAfterMs ?? 0) > 0;

const answerArb: fc.Arbitrary<SendResult> = fc.oneof(
  fc.constant<SendResult>({ status: "delivered", messageId: 1 }),
  fc.constant(timeout),
  fc.constant(blocked),
  fc
    .integer({ min: 1, max: 600_000 })
    .map<SendResult>((retryAfterMs) => ({ ...tooManyRequests, retryAfterMs })),
);
const smallPolicyArb = fc
  .record({ maxRetries: fc.nat(6), baseDelayMs: fc.nat(120_000), factor: fc.integer({ min: 1, max: 4 }) })
  .map((p) => retryPolicy(p));

describe("decideOutcome (§5)", () => {
  it("records a delivery with its attempt and the platform's message id", () => {
    expect(decideOutcome({ status: "delivered", messageId: 991 }, ctx(2))).toEqual({
      type: "delivered",
      recipientId: 42,
      attempts: 3,
      messageId: 991,
    });
    expect(decideOutcome({ status: "delivered" }, ctx(0))).toMatchObject({ messageId: null });
  });

  it("fails a permanent failure at once, after one attempt", () => {
    expect(decideOutcome(blocked, ctx(0))).toEqual({
      type: "failed",
      recipientId: 42,
      attempts: 1,
      error: "Forbidden: bot was blocked by the user",
      kind: "permanent",
    });
  });

  it("retries a transient failure after 60 s, 120 s, 240 s and fails it on the 4th attempt", () => {
    const outcomes = [0, 1, 2, 3].map((before) => decideOutcome(timeout, ctx(before)));
    expect(outcomes).toEqual([
      {
        type: "retry",
        recipientId: 42,
        attempts: 1,
        error: "Network timeout",
        kind: "transient",
        nextAttemptAt: at(60_000),
      },
      {
        type: "retry",
        recipientId: 42,
        attempts: 2,
        error: "Network timeout",
        kind: "transient",
        nextAttemptAt: at(120_000),
      },
      {
        type: "retry",
        recipientId: 42,
        attempts: 3,
        error: "Network timeout",
        kind: "transient",
        nextAttemptAt: at(240_000),
      },
      { type: "failed", recipientId: 42, attempts: 4, error: "Network timeout", kind: "transient" },
    ]);
  });

  it("waits out a 429's retry_after without using up an attempt, even after the last retry", () => {
    expect(decideOutcome(tooManyRequests, ctx(0))).toMatchObject({
      type: "retry",
      attempts: 0,
      nextAttemptAt: at(30_000),
    });
    expect(decideOutcome(tooManyRequests, ctx(3))).toMatchObject({
      type: "retry",
      attempts: 3,
      nextAttemptAt: at(30_000),
    });
  });

  it("releases the recipient untouched when the content itself is refused (the broadcast pauses instead)", () => {
    expect(decideOutcome(unparsable, ctx(2))).toEqual({ type: "released", recipientId: 42 });
  });

  it("carries a migrated chat id into the recorded outcome", () => {
    const migrated = ctx(0, { migratedTo: -100_123 });
    expect(decideOutcome({ status: "delivered", messageId: 5 }, migrated)).toMatchObject({
      chatId: -100_123,
    });
    expect(decideOutcome(blocked, migrated)).toMatchObject({ chatId: -100_123 });
    expect(decideOutcome(timeout, migrated)).toMatchObject({ type: "retry", chatId: -100_123 });
  });

  it("draws the jitter from the injected random source", () => {
    const jittered = ctx(0, { policy: retryPolicy({ jitter: 0.5 }), random: () => 0 });
    expect(decideOutcome(timeout, jittered)).toMatchObject({ nextAttemptAt: at(30_000) });
  });

  it("keys each send by broadcast and recipient", () => {
    expect(idempotencyKey(12, 345)).toBe("broadcast:12:recipient:345");
    expect(idempotencyKey(12, "user-7")).toBe("broadcast:12:recipient:user-7");
  });

  it("names the unknown delivery of a stopped worker as the SPEC does", () => {
    expect(DELIVERY_UNKNOWN).toBe("delivery unknown: worker stopped");
  });
});

describe("decideOutcome: each recipient gets exactly the attempts the policy allows", () => {
  test.prop([smallPolicyArb])("a permanent failure is tried once", (policy) => {
    const { calls, end } = lifeOf([blocked], policy);
    expect(calls).toHaveLength(1);
    expect(end).toMatchObject({ type: "failed", attempts: 1 });
  });

  test.prop([smallPolicyArb])(
    "a transient failure is tried 1 + maxRetries times, on the policy's schedule, then fails",
    (policy) => {
      const { calls, end } = lifeOf([], policy);
      expect(calls).toHaveLength(1 + policy.maxRetries);
      expect(end).toMatchObject({ type: "failed", attempts: 1 + policy.maxRetries, kind: "transient" });
      calls.slice(1).forEach((call, i) => {
        const previous = calls[i]!;
        expect(call.at.getTime() - previous.at.getTime()).toBe(retryDelayMs(policy, i + 1));
      });
    },
  );

  test.prop([fc.array(answerArb, { maxLength: 30 }), smallPolicyArb])(
    "whatever the sender answers, at most 1 + maxRetries attempts count, and 429s count none",
    (answers, policy) => {
      const { calls, end } = lifeOf(answers, policy);
      const counted = calls.filter((c) => !isThrottle(c.answer)).length;
      expect(counted).toBeLessThanOrEqual(1 + policy.maxRetries);
      expect(end.type).not.toBe("released");
      if (end.type !== "released") expect(end.attempts).toBe(counted);
      for (const { at: sentAt, answer, outcome } of calls) {
        if (isThrottle(answer) && answer.status === "failed") {
          expect(outcome).toMatchObject({
            type: "retry",
            nextAttemptAt: new Date(sentAt.getTime() + (answer.retryAfterMs ?? 0)),
          });
        }
      }
    },
  );
});

/** Any UTF-16 text: NULs, lone surrogates and pairs included. */
const anyUtf16 = (maxLength: number) =>
  fc
    .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 0xd83d, 0xde80, 0xdc00)), {
      maxLength,
    })
    .map((codes) => String.fromCharCode(...codes));

/** Well-formed text round-trips through UTF-8 exactly; ill-formed text does not. */
const isWellFormed = (text: string): boolean => Buffer.from(text, "utf8").toString("utf8") === text;

describe("normalizeDescription: failure descriptions are untrusted text", () => {
  it("turns NUL and lone surrogates into U+FFFD and keeps surrogate pairs", () => {
    expect(normalizeDescription("a\u0000b")).toBe("a\uFFFDb");
    expect(normalizeDescription("x\uD800y")).toBe("x\uFFFDy");
    expect(normalizeDescription("x\uDC00")).toBe("x\uFFFD");
    expect(normalizeDescription("\uDC00\uD800")).toBe("\uFFFD\uFFFD");
    expect(normalizeDescription("rocket 🚀 \u200Fמה")).toBe("rocket 🚀 \u200Fמה");
  });

  it("keeps prototype names, SQL and JSON-looking text exactly", () => {
    for (const text of ["__proto__", "constructor", "'; DROP TABLE broadcasts; --", '{"a":1}', "1"]) {
      expect(normalizeDescription(text)).toBe(text);
    }
  });

  it(`cuts a long description to ${MAX_DESCRIPTION_LENGTH} units, never between the halves of a pair`, () => {
    expect(normalizeDescription("x".repeat(5_000))).toBe("x".repeat(MAX_DESCRIPTION_LENGTH));
    const pairAcrossTheCut = `${"x".repeat(MAX_DESCRIPTION_LENGTH - 1)}🚀tail`;
    expect(normalizeDescription(pairAcrossTheCut)).toBe("x".repeat(MAX_DESCRIPTION_LENGTH - 1));
    const pairBeforeTheCut = `${"x".repeat(MAX_DESCRIPTION_LENGTH - 2)}🚀tail`;
    expect(normalizeDescription(pairBeforeTheCut)).toBe(`${"x".repeat(MAX_DESCRIPTION_LENGTH - 2)}🚀`);
  });

  test.prop([anyUtf16(1_200)])(
    "gives well-formed text without NUL, at most the limit long, and is idempotent",
    (text) => {
      const normalized = normalizeDescription(text);
      expect(isWellFormed(normalized)).toBe(true);
      expect(normalized.includes("\u0000")).toBe(false);
      expect(normalized.length).toBeLessThanOrEqual(MAX_DESCRIPTION_LENGTH);
      expect(normalizeDescription(normalized)).toBe(normalized);
    },
  );

  test.prop([fc.string({ unit: "binary", maxLength: 1_500 })])(
    "changes well-formed text only by cutting it, keeping as much as fits",
    (text) => {
      const clean = text.replaceAll("\u0000", "");
      const normalized = normalizeDescription(clean);
      expect(clean.startsWith(normalized)).toBe(true);
      expect(normalized.length).toBeGreaterThanOrEqual(Math.min(clean.length, MAX_DESCRIPTION_LENGTH - 1));
    },
  );

  test.prop([
    anyUtf16(1_200),
    fc.constantFrom<"transient" | "permanent">("transient", "permanent"),
    fc.nat(4),
  ])(
    "decideOutcome stores only normalised descriptions, for failures and retries alike",
    (description, kind, attemptsBefore) => {
      const outcome = decideOutcome({ status: "failed", kind, description }, ctx(attemptsBefore));
      expect(outcome.type === "failed" || outcome.type === "retry").toBe(true);
      if (outcome.type === "failed" || outcome.type === "retry") {
        expect(outcome.error).toBe(normalizeDescription(description));
      }
    },
  );
});
