import { describe, expect, it } from "vitest";
import { MAX_DESCRIPTION_LENGTH, normalizeDescription, type RecipientOutcome } from "../../core/outcome.js";
import { errorSummary } from "../../core/progress.js";
import type { Broadcast, NewRecipient, RecipientId, TemplateVariables } from "../../core/types.js";
import type { ResetFailedRequest } from "../../ports/store.js";
import {
  allRecipients,
  at,
  claimRequest,
  delivered,
  draftInput,
  mustGet,
  record,
  retryAt,
  type StoreContext,
  sendingBroadcast,
} from "./fixtures.js";
import { expectCountersAddUp } from "./outcomes.js";

/** Names every plain JavaScript object inherits: a store that keys a plain object by data trips on them. */
export const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

/**
 * Text a store must keep exactly, wherever it stores text: well-formed, as the core hands it over
 * (failure descriptions pass `normalizeDescription` first; client text is validated at the boundary).
 */
export const HOSTILE_TEXTS: readonly string[] = [
  ...PROTOTYPE_NAMES,
  "'; DROP TABLE broadcasts; --",
  '"); DELETE FROM broadcast_recipients; --',
  '{"__proto__": {"polluted": true}}',
  "[1, 2]",
  "null",
  "1",
  "",
  " ",
  `it's "quoted" \\ with a backslash, \\u0000 and \\n as plain text`,
  "line\nbreak\ttab",
  "rocket 🚀, 𝕏, 👩‍👩‍👧 and \u{10FFFF}",
  "\u200Fעברית\u202E reversed\u202C",
  normalizeDescription("🚀".repeat(MAX_DESCRIPTION_LENGTH)),
  normalizeDescription(`${"x".repeat(MAX_DESCRIPTION_LENGTH - 1)}🚀`),
];

/** Variables whose names are prototype names, with `1` and `"1"` as values that must stay apart. */
export const HOSTILE_VARIABLES: TemplateVariables = Object.fromEntries([
  ["__proto__", "proto value"],
  ["constructor", "constructor value"],
  ["toString", 1],
  ["hasOwnProperty", "1"],
  ["valueOf", true],
  ["sql", "'; DROP TABLE broadcasts; --"],
  ["json", '{"a": [1, "1"]}'],
  ["emoji", "🚀 \u200F"],
]);

const failedWith = (
  recipientId: RecipientId,
  error: string,
  kind: "transient" | "permanent",
): RecipientOutcome => ({ type: "failed", recipientId, attempts: 1, error, kind });

/** Own entries only, so a key inherited from a prototype can never pass for a count. */
const countsOf = (b: Broadcast): Map<string, number> =>
  new Map(Object.entries(b.errorCounts).filter(([, n]) => n !== 0));

function tally(errors: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const error of errors) counts.set(error, (counts.get(error) ?? 0) + 1);
  return counts;
}

/** Counts, summary, log and counters, all compared with what was recorded. */
async function expectErrorsExactly(
  ctx: StoreContext,
  broadcastId: number,
  failures: readonly string[],
  logged: readonly { recipientId: RecipientId; error: string; at: Date }[],
): Promise<Broadcast> {
  const b = await expectCountersAddUp(ctx.store, broadcastId);
  const expected = tally(failures);
  expect(countsOf(b)).toEqual(expected);
  expect(b.failedCount).toBe(failures.length);
  expect(errorSummary(b.failedCount, b.errorCounts)).toBe(
    errorSummary(failures.length, Object.fromEntries(expected)),
  );
  expect(b.errorLog).toEqual(
    logged.map((entry) => ({ recipientId: entry.recipientId, error: entry.error, timestamp: entry.at })),
  );
  return b;
}

const resetRequest = (broadcastId: number, includePermanent: boolean): ResetFailedRequest => ({
  broadcastId,
  includePermanent,
  allowedFrom: ["sending"],
  patch: { status: "sending" },
});

export function describeHostileStrings(ctx: StoreContext): void {
  describe("hostile text", () => {
    it("counts, logs and keeps every hostile failure description exactly, in one batch and across batches", async () => {
      const n = HOSTILE_TEXTS.length;
      // Two recipients per text (failed in two different batches), plus deliveries and retries.
      const b = await sendingBroadcast(
        ctx.store,
        Array.from({ length: 2 * n + 4 }, (_, i) => ({ recipientId: i + 1, chatId: 5000 + i })),
      );
      const first = await ctx.store.claimRecipients(claimRequest(b.id, { limit: n + 2 }));
      const firstOutcomes: RecipientOutcome[] = [
        ...HOSTILE_TEXTS.map((text, i) => failedWith(i + 1, text, i % 2 === 0 ? "permanent" : "transient")),
        delivered(n + 1),
        retryAt(n + 2, at(60_000), HOSTILE_TEXTS[0]),
      ];
      expect(first.recipients).toHaveLength(n + 2);
      expect((await record(ctx.store, b.id, first, firstOutcomes, { now: at(1) })).type).toBe("recorded");
      const logged = HOSTILE_TEXTS.map((error, i) => ({ recipientId: i + 1, error, at: at(1) }));
      await expectErrorsExactly(ctx, b.id, HOSTILE_TEXTS, logged);

      const second = await ctx.store.claimRecipients(claimRequest(b.id, { limit: n + 2, now: at(2) }));
      const secondIds = second.recipients.map((r) => r.recipientId as number).sort((x, y) => x - y);
      expect(secondIds).toEqual(Array.from({ length: n + 2 }, (_, i) => n + 3 + i));
      const secondOutcomes: RecipientOutcome[] = [
        delivered(n + 3),
        ...[...HOSTILE_TEXTS].reverse().map((text, i) => failedWith(n + 4 + i, text, "permanent")),
        delivered(2 * n + 4),
      ];
      expect((await record(ctx.store, b.id, second, secondOutcomes, { now: at(2) })).type).toBe("recorded");
      const loggedToo = [...HOSTILE_TEXTS]
        .reverse()
        .map((error, i) => ({ recipientId: n + 4 + i, error, at: at(2) }));
      await expectErrorsExactly(ctx, b.id, [...HOSTILE_TEXTS, ...HOSTILE_TEXTS], [...logged, ...loggedToo]);

      const recipients = await allRecipients(ctx.store, b.id);
      const byId = new Map(recipients.map((r) => [r.recipientId, r]));
      HOSTILE_TEXTS.forEach((text, i) => {
        expect(byId.get(i + 1)).toMatchObject({ state: "failed", lastError: text });
        expect(byId.get(n + 4 + (n - 1 - i))).toMatchObject({ state: "failed", lastError: text });
      });
      expect(byId.get(n + 2)).toMatchObject({ state: "pending", lastError: HOSTILE_TEXTS[0] });
    });

    it("lowers hostile counts exactly when a manual retry resets their recipients", async () => {
      const n = HOSTILE_TEXTS.length;
      const b = await sendingBroadcast(
        ctx.store,
        Array.from({ length: n }, (_, i) => ({ recipientId: `r-${i}`, chatId: 7000 + i })),
      );
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { limit: n }));
      const kindOf = (i: number) => (i % 3 === 0 ? "transient" : "permanent");
      await record(
        ctx.store,
        b.id,
        claim,
        HOSTILE_TEXTS.map((text, i) => failedWith(`r-${i}`, text, kindOf(i))),
      );
      const permanent = HOSTILE_TEXTS.filter((_, i) => kindOf(i) === "permanent");

      const transientReset = await ctx.store.resetFailedRecipients(resetRequest(b.id, false));
      expect(transientReset).toMatchObject({ type: "reset", retriedCount: n - permanent.length });
      let stored = await expectCountersAddUp(ctx.store, b.id);
      expect(countsOf(stored)).toEqual(tally(permanent));
      expect(errorSummary(stored.failedCount, stored.errorCounts)).toBe(
        errorSummary(permanent.length, Object.fromEntries(tally(permanent))),
      );

      const allReset = await ctx.store.resetFailedRecipients(resetRequest(b.id, true));
      expect(allReset).toMatchObject({ type: "reset", retriedCount: permanent.length, skippedCount: 0 });
      stored = await expectCountersAddUp(ctx.store, b.id);
      expect(countsOf(stored)).toEqual(new Map());
      expect(stored.failedCount).toBe(0);
      const recipients = await allRecipients(ctx.store, b.id);
      expect(recipients.map((r) => [r.state, r.lastError])).toEqual(HOSTILE_TEXTS.map((t) => ["pending", t]));

      // Failing them again with the same texts counts each once more, from zero.
      const again = await ctx.store.claimRecipients(claimRequest(b.id, { limit: n, onlyFailed: true }));
      expect(again.recipients).toHaveLength(n);
      await record(
        ctx.store,
        b.id,
        again,
        again.recipients.map((r) => failedWith(r.recipientId, String(r.lastError), "permanent")),
      );
      stored = await expectCountersAddUp(ctx.store, b.id);
      expect(countsOf(stored)).toEqual(tally(HOSTILE_TEXTS));
    });

    it("keeps hostile message text, creator, recipient ids, message ids and variables exactly", async () => {
      const recipients: NewRecipient[] = [
        ...HOSTILE_TEXTS.filter((t) => t.length > 0 && t.length <= 255 && t !== "1").map(
          (recipientId, i) => ({
            recipientId,
            chatId: 9000 + i,
            variables: HOSTILE_VARIABLES,
          }),
        ),
        { recipientId: 1, chatId: 8001, variables: { v: 1 } },
        { recipientId: "1", chatId: 8002, variables: { v: "1" } },
      ];
      for (const text of HOSTILE_TEXTS.filter((t) => t.trim().length > 0)) {
        const created = await ctx.store.createBroadcast(
          draftInput({ message: { text }, createdBy: text }),
          recipients,
        );
        const stored = await mustGet(ctx.store, created.id);
        expect(stored.message.text).toBe(text);
        expect(stored.createdBy).toBe(text);
      }
      const b = await sendingBroadcast(ctx.store, recipients, { message: { text: HOSTILE_TEXTS[0]! } });
      const expectVariables = (got: TemplateVariables | null, want: TemplateVariables | undefined) => {
        expect(got === null ? null : Object.entries(got)).toEqual(
          want === undefined ? null : Object.entries(want),
        );
      };
      const listed = await allRecipients(ctx.store, b.id);
      expect(listed.map((r) => r.recipientId)).toEqual(recipients.map((r) => r.recipientId));
      listed.forEach((r, i) => {
        expectVariables(r.variables, recipients[i]!.variables);
      });
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { limit: recipients.length }));
      const claimed = new Map(claim.recipients.map((r) => [r.recipientId, r]));
      for (const recipient of recipients) {
        expectVariables(claimed.get(recipient.recipientId)?.variables ?? null, recipient.variables);
      }
      await record(
        ctx.store,
        b.id,
        claim,
        recipients.map((r, i) => delivered(r.recipientId, i % 2 === 0 ? PROTOTYPE_NAMES[i % 5]! : i)),
      );
      const sent = await allRecipients(ctx.store, b.id);
      expect(sent.map((r) => r.messageId)).toEqual(
        recipients.map((_, i) => (i % 2 === 0 ? PROTOTYPE_NAMES[i % 5]! : i)),
      );
      expect(await mustGet(ctx.store, b.id)).toMatchObject({ sentCount: recipients.length, failedCount: 0 });
    });
  });
}
