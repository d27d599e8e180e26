import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RecipientOutcome } from "../../core/outcome.js";
import type { RecipientId } from "../../core/types.js";
import type { ClaimResult } from "../../ports/store.js";
import { at, claimRequest, LEASE_MS, numbered, type StoreContext, sendingBroadcast } from "./fixtures.js";
import { expectCountersAddUp } from "./outcomes.js";

const RECIPIENTS = 8;

type Step =
  | { readonly type: "claim"; readonly limit: number }
  | { readonly type: "record"; readonly claim: number; readonly outcomes: readonly OutcomeKind[] }
  | { readonly type: "advance"; readonly ms: number };

type OutcomeKind = "delivered" | "transient" | "permanent" | "retry" | "released";

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ type: fc.constant("claim" as const), limit: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    type: fc.constant("record" as const),
    claim: fc.nat(),
    outcomes: fc.array(
      fc.constantFrom<OutcomeKind>("delivered", "transient", "permanent", "retry", "released"),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
  }),
  fc.record({ type: fc.constant("advance" as const), ms: fc.constantFrom(1_000, LEASE_MS, 2 * LEASE_MS) }),
);

function outcomeFor(kind: OutcomeKind, recipientId: RecipientId, now: number): RecipientOutcome {
  switch (kind) {
    case "delivered":
      return { type: "delivered", recipientId, attempts: 1, messageId: 1 };
    case "transient":
      return { type: "failed", recipientId, attempts: 4, error: "Network timeout", kind: "transient" };
    case "permanent":
      return { type: "failed", recipientId, attempts: 1, error: "Forbidden", kind: "permanent" };
    case "retry":
      return {
        type: "retry",
        recipientId,
        attempts: 1,
        error: "Network timeout",
        kind: "transient",
        nextAttemptAt: at(now + 5_000),
      };
    case "released":
      return { type: "released", recipientId };
  }
}

export function describeProperties(ctx: StoreContext): void {
  describe("under random claims, outcomes and expiries", () => {
    it("keeps counters adding up, never lets two live claims hold one recipient, and flags takeovers", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 14 }), async (steps) => {
          const b = await sendingBroadcast(ctx.store, numbered(RECIPIENTS));
          let now = 0;
          const claims: { claim: ClaimResult; at: number }[] = [];
          /** Who holds each recipient per the model: the claim's expiry. */
          const held = new Map<RecipientId, number>();
          for (const s of steps) {
            if (s.type === "advance") now += s.ms;
            if (s.type === "claim") {
              const claim = await ctx.store.claimRecipients(
                claimRequest(b.id, { limit: s.limit, now: at(now) }),
              );
              for (const r of claim.recipients) {
                const expiry = held.get(r.recipientId);
                expect(expiry === undefined || expiry <= now).toBe(true);
                expect(r.takenOver).toBe(expiry !== undefined);
                held.set(r.recipientId, now + LEASE_MS);
              }
              claims.push({ claim, at: now });
            }
            if (s.type === "record" && claims.length > 0) {
              const { claim } = claims[s.claim % claims.length]!;
              const chosen = claim.recipients.slice(0, s.outcomes.length);
              const outcomes = chosen.map((r, i) => outcomeFor(s.outcomes[i]!, r.recipientId, now));
              const before = await ctx.store.getBroadcast(b.id);
              const result = await ctx.store.recordOutcomes({
                broadcastId: b.id,
                epoch: claim.epoch,
                outcomes,
                now: at(now),
                errorLogLimit: 3,
              });
              if (result.type === "recorded") for (const r of chosen) held.delete(r.recipientId);
              else expect(await ctx.store.getBroadcast(b.id)).toEqual(before);
            }
            const stored = await expectCountersAddUp(ctx.store, b.id);
            expect(stored.errorLog.length).toBeLessThanOrEqual(3);
          }
        }),
        { numRuns: 25 },
      );
    });
  });
}
