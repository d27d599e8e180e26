import { describe, expect, it } from "vitest";
import { MAX_NAMED_DUPLICATES, type NewRecipient } from "../../core/types.js";
import {
  allRecipients,
  claimRequest,
  delivered,
  draftInput,
  ids,
  mustGet,
  numbered,
  processAll,
  type StoreContext,
  sendingBroadcast,
  T0,
} from "./fixtures.js";
import { HOSTILE_VARIABLES } from "./hostile.js";
import { expectCountersAddUp } from "./outcomes.js";

/** Recipients `from`..`from + n - 1`, chat ids 1000 above. */
const range = (from: number, n: number): NewRecipient[] =>
  Array.from({ length: n }, (_, i) => ({ recipientId: from + i, chatId: 1000 + from + i }));

async function* slowly(recipients: readonly NewRecipient[]): AsyncGenerator<NewRecipient> {
  for (const recipient of recipients) {
    await Promise.resolve();
    yield recipient;
  }
}

function* failingAfter(recipients: readonly NewRecipient[]): Generator<NewRecipient> {
  yield* recipients;
  throw new Error("recipient source broke");
}

export function describeAppend(ctx: StoreContext): void {
  const draftWith = (recipients: readonly NewRecipient[]) =>
    ctx.store.createBroadcast(draftInput(), recipients);

  /** The broadcast and its recipients are exactly as they were. */
  async function expectUnchanged(broadcastId: number, before: Awaited<ReturnType<typeof draftWith>>) {
    expect(await mustGet(ctx.store, broadcastId)).toEqual(before);
    expect(ids(await allRecipients(ctx.store, broadcastId))).toEqual(
      Array.from({ length: before.totalRecipients }, (_, i) => i + 1),
    );
  }

  describe("appendRecipients", () => {
    it("adds recipients to a draft after the existing ones, pending, counted and versioned in one step", async () => {
      const created = await draftWith(range(1, 3));
      const result = await ctx.store.appendRecipients(created.id, [
        { recipientId: 4, chatId: "@appended_channel", variables: HOSTILE_VARIABLES },
        ...range(5, 2),
      ]);
      expect(result.type).toBe("appended");
      const stored = await mustGet(ctx.store, created.id);
      if (result.type === "appended") expect(result.broadcast).toEqual(stored);
      expect(stored).toMatchObject({ status: "draft", totalRecipients: 6, sentCount: 0, failedCount: 0 });
      expect(stored.version).toBeGreaterThan(created.version);
      const recipients = await allRecipients(ctx.store, created.id, undefined, 4);
      expect(ids(recipients)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(recipients[3]).toMatchObject({
        chatId: "@appended_channel",
        state: "pending",
        attempts: 0,
        lastError: null,
        nextAttemptAt: null,
        messageId: null,
      });
      expect(Object.entries(recipients[3]!.variables ?? {})).toEqual(Object.entries(HOSTILE_VARIABLES));
      expect(await ctx.store.getActivity(created.id, T0)).toEqual({ leased: false, claimable: true });
    });

    it("hands the appended recipients out after the first ones once sending, and counts them all", async () => {
      const created = await draftWith(range(1, 2));
      await ctx.store.appendRecipients(created.id, range(3, 2));
      await ctx.store.appendRecipients(created.id, range(5, 1));
      await ctx.store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 });
      const claim = await ctx.store.claimRecipients(claimRequest(created.id, { limit: 10 }));
      expect(ids(claim.recipients)).toEqual([1, 2, 3, 4, 5]);
      await ctx.store.recordOutcomes({
        broadcastId: created.id,
        epoch: claim.epoch,
        outcomes: claim.recipients.map((r) => delivered(r.recipientId)),
        now: T0,
        errorLogLimit: 10,
      });
      const done = await expectCountersAddUp(ctx.store, created.id);
      expect(done).toMatchObject({ totalRecipients: 5, sentCount: 5 });
    });

    it("appends to an empty draft, from an async iterable and from a long lazy list", async () => {
      const created = await draftWith([]);
      expect((await ctx.store.appendRecipients(created.id, slowly(range(1, 5)))).type).toBe("appended");
      function* many(): Generator<NewRecipient> {
        yield* range(6, 2_495);
      }
      const result = await ctx.store.appendRecipients(created.id, many());
      expect(result).toMatchObject({ type: "appended", broadcast: { totalRecipients: 2_500 } });
      expect(ids(await allRecipients(ctx.store, created.id, undefined, 1_000))).toEqual(
        Array.from({ length: 2_500 }, (_, i) => i + 1),
      );
    });

    it("refuses a recipient already in the broadcast, naming it, and adds nothing", async () => {
      const created = await draftWith(range(1, 3));
      const result = await ctx.store.appendRecipients(created.id, [
        ...range(4, 2),
        { recipientId: 2, chatId: 9 },
      ]);
      expect(result).toEqual({ type: "duplicate", recipientIds: [2] });
      await expectUnchanged(created.id, created);
      expect((await ctx.store.appendRecipients(created.id, range(4, 2))).type).toBe("appended");
    });

    it("refuses a recipient given twice in the call, naming it once, and adds nothing", async () => {
      const created = await draftWith(range(1, 2));
      const result = await ctx.store.appendRecipients(
        created.id,
        slowly([
          ...range(3, 2),
          { recipientId: 3, chatId: 7 },
          { recipientId: 3, chatId: 8 },
          ...range(5, 1),
        ]),
      );
      expect(result).toEqual({ type: "duplicate", recipientIds: [3] });
      await expectUnchanged(created.id, created);
    });

    it(`names each duplicate once, in the order met, and at most ${MAX_NAMED_DUPLICATES}`, async () => {
      const created = await draftWith(range(1, 300));
      const few = await ctx.store.appendRecipients(created.id, [
        ...range(301, 2),
        ...range(7, 1),
        ...range(3, 1),
      ]);
      expect(few).toEqual({ type: "duplicate", recipientIds: [7, 3] });
      const many = await ctx.store.appendRecipients(created.id, range(1, 300));
      expect(many.type).toBe("duplicate");
      if (many.type === "duplicate") {
        expect(many.recipientIds.length).toBeGreaterThan(0);
        expect(many.recipientIds.length).toBeLessThanOrEqual(MAX_NAMED_DUPLICATES);
        expect(new Set(many.recipientIds).size).toBe(many.recipientIds.length);
        expect(many.recipientIds.every((id) => typeof id === "number" && id >= 1 && id <= 300)).toBe(true);
      }
      await expectUnchanged(created.id, created);
    });

    it("tells 1 and '1' apart, as creation does", async () => {
      const created = await draftWith([{ recipientId: 1, chatId: 1001 }]);
      const result = await ctx.store.appendRecipients(created.id, [{ recipientId: "1", chatId: 1002 }]);
      expect(result).toMatchObject({ type: "appended", broadcast: { totalRecipients: 2 } });
      expect(await ctx.store.appendRecipients(created.id, [{ recipientId: "1", chatId: 1003 }])).toEqual({
        type: "duplicate",
        recipientIds: ["1"],
      });
      expect(ids(await allRecipients(ctx.store, created.id))).toEqual([1, "1"]);
    });

    it("adds nothing when the source throws midway", async () => {
      const created = await draftWith(range(1, 2));
      await expect(ctx.store.appendRecipients(created.id, failingAfter(range(3, 3)))).rejects.toThrow();
      await expectUnchanged(created.id, created);
      expect((await ctx.store.appendRecipients(created.id, range(3, 1))).type).toBe("appended");
    });

    it("refuses a broadcast that is no longer a draft with its status, and an unknown one", async () => {
      const scheduled = await ctx.store.createBroadcast(
        draftInput({ status: "scheduled", scheduledAt: new Date(T0.getTime() + 60_000) }),
        range(1, 1),
      );
      expect(await ctx.store.appendRecipients(scheduled.id, range(2, 1))).toEqual({
        type: "status_changed",
        actual: "scheduled",
      });
      const sending = await sendingBroadcast(ctx.store, numbered(2));
      expect(await ctx.store.appendRecipients(sending.id, range(3, 1))).toEqual({
        type: "status_changed",
        actual: "sending",
      });
      expect(await mustGet(ctx.store, sending.id)).toEqual(sending);
      await processAll(ctx.store, sending.id, (r) => delivered(r.recipientId));
      expect((await mustGet(ctx.store, sending.id)).totalRecipients).toBe(2);
      expect(await ctx.store.appendRecipients(987_654_321, range(1, 1))).toEqual({ type: "not_found" });
    });

    it("lets one of two racing appends of the same recipient win, and adds the disjoint ones of both", async () => {
      const created = await draftWith(range(1, 2));
      const [a, b] = await Promise.all([
        ctx.store.appendRecipients(created.id, slowly([...range(10, 3), { recipientId: 99, chatId: 1 }])),
        ctx.store.appendRecipients(created.id, slowly([{ recipientId: 99, chatId: 2 }, ...range(20, 3)])),
      ]);
      expect([a.type, b.type].sort()).toEqual(["appended", "duplicate"]);
      const loser = a.type === "duplicate" ? a : b;
      expect(loser).toEqual({ type: "duplicate", recipientIds: [99] });
      const [c, d] = await Promise.all([
        ctx.store.appendRecipients(created.id, range(30, 3)),
        ctx.store.appendRecipients(created.id, slowly(range(40, 3))),
      ]);
      expect([c.type, d.type]).toEqual(["appended", "appended"]);
      const stored = await mustGet(ctx.store, created.id);
      expect(stored.totalRecipients).toBe(2 + 4 + 3 + 3);
      expect((await allRecipients(ctx.store, created.id)).length).toBe(stored.totalRecipients);
    });

    it("either lands before a racing start or is refused: the total always matches the recipients", async () => {
      for (let round = 0; round < 3; round += 1) {
        const created = await draftWith(range(1, 2));
        const [appended, started] = await Promise.all([
          ctx.store.appendRecipients(created.id, slowly(range(3, 4))),
          ctx.store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 }),
        ]);
        expect(started.type).toBe("updated");
        expect(appended.type === "appended" || appended.type === "status_changed").toBe(true);
        await processAll(ctx.store, created.id, (r) => delivered(r.recipientId));
        const done = await expectCountersAddUp(ctx.store, created.id);
        expect(done.totalRecipients).toBe(appended.type === "appended" ? 6 : 2);
        expect(done.sentCount).toBe(done.totalRecipients);
      }
    });
  });
}
