import { describe, expect, it } from "vitest";
import { InvalidCursorError } from "../../core/errors.js";
import type { Broadcast, NewRecipient } from "../../core/types.js";
import { at, draftInput, ids, mustGet, numbered, type StoreContext, T0 } from "./fixtures.js";

async function* slowly(recipients: readonly NewRecipient[]): AsyncGenerator<NewRecipient> {
  for (const recipient of recipients) {
    await Promise.resolve();
    yield recipient;
  }
}

function* failingAfter(count: number): Generator<NewRecipient> {
  yield* numbered(count);
  throw new Error("recipient source broke");
}

async function* failingAsyncAfter(count: number): AsyncGenerator<NewRecipient> {
  yield* numbered(count);
  throw new Error("recipient source broke");
}

async function allBroadcasts(
  ctx: StoreContext,
  status?: Broadcast["status"],
  limit = 2,
): Promise<Broadcast[]> {
  const all: Broadcast[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await ctx.store.listBroadcasts({ status, limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    all.push(...page.items);
    if (page.nextCursor === null) return all;
    cursor = page.nextCursor;
  }
}

export function describeBroadcasts(ctx: StoreContext): void {
  describe("createBroadcast and getBroadcast", () => {
    it("stores a draft with its fields, zero counters and every recipient", async () => {
      const created = await ctx.store.createBroadcast(
        draftInput({
          message: { text: "Hi <b>there</b>", parseMode: "HTML" },
          createdBy: "admin@example.com",
          errorThreshold: 50,
        }),
        numbered(3),
      );
      expect(Number.isSafeInteger(created.id) && created.id > 0).toBe(true);
      expect(created).toMatchObject({
        status: "draft",
        message: { text: "Hi <b>there</b>", parseMode: "HTML" },
        createdBy: "admin@example.com",
        errorThreshold: 50,
        totalRecipients: 3,
        sentCount: 0,
        failedCount: 0,
        errorLog: [],
        pauseReason: null,
        createdAt: T0,
        scheduledAt: null,
        sentAt: null,
        completedAt: null,
      });
      expect(created.errorCounts).toEqual({});
      expect(await ctx.store.getBroadcast(created.id)).toEqual(created);
    });

    it("stores a scheduled broadcast with its time and a numeric creator", async () => {
      const created = await ctx.store.createBroadcast(
        draftInput({ status: "scheduled", scheduledAt: at(3_600_000), createdBy: 42 }),
        numbered(1),
      );
      expect(await mustGet(ctx.store, created.id)).toMatchObject({
        status: "scheduled",
        scheduledAt: at(3_600_000),
        createdBy: 42,
      });
    });

    it("issues positive, increasing ids", async () => {
      const first = await ctx.store.createBroadcast(draftInput(), []);
      const second = await ctx.store.createBroadcast(draftInput(), numbered(2));
      const third = await ctx.store.createBroadcast(draftInput(), []);
      expect(first.id).toBeGreaterThan(0);
      expect(second.id).toBeGreaterThan(first.id);
      expect(third.id).toBeGreaterThan(second.id);
    });

    it("answers null for a broadcast that does not exist", async () => {
      expect(await ctx.store.getBroadcast(987_654_321)).toBeNull();
    });

    it("takes recipients from an async iterable, in order", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), slowly(numbered(5)));
      expect(created.totalRecipients).toBe(5);
      const page = await ctx.store.listRecipients(created.id, { limit: 10 });
      expect(ids(page?.items ?? [])).toEqual([1, 2, 3, 4, 5]);
    });

    it("takes a long lazy list of recipients, in order", async () => {
      function* many(): Generator<NewRecipient> {
        for (let i = 1; i <= 2_500; i += 1) yield { recipientId: i, chatId: 10_000 + i };
      }
      const created = await ctx.store.createBroadcast(draftInput(), many());
      expect(created.totalRecipients).toBe(2_500);
      const last = await ctx.store.listRecipients(created.id, { limit: 2_500 });
      expect(ids(last?.items ?? [])).toEqual(Array.from({ length: 2_500 }, (_, i) => i + 1));
    });

    it("stores nothing when the recipient iterable throws midway", async () => {
      await expect(ctx.store.createBroadcast(draftInput(), failingAfter(3))).rejects.toThrow();
      await expect(ctx.store.createBroadcast(draftInput(), failingAsyncAfter(3))).rejects.toThrow();
      expect((await ctx.store.listBroadcasts({ limit: 10 })).items).toEqual([]);
      const ok = await ctx.store.createBroadcast(draftInput(), numbered(1));
      expect((await ctx.store.listBroadcasts({ limit: 10 })).items.map((b) => b.id)).toEqual([ok.id]);
    });

    it("hands out copies: changing a returned broadcast or recipient changes nothing stored", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), [
        { recipientId: 1, chatId: 1001, variables: { name: "Ada" } },
      ]);
      const listed = await ctx.store.listRecipients(created.id, { limit: 1 });
      (listed?.items[0]?.variables as Record<string, string>).name = "tampered";
      const relisted = await ctx.store.listRecipients(created.id, { limit: 1 });
      expect(relisted?.items[0]?.variables).toEqual({ name: "Ada" });
      (created.message as { text: string }).text = "tampered";
      created.createdAt.setTime(0);
      (created.errorCounts as Record<string, number>).tampered = 1;
      const again = await mustGet(ctx.store, created.id);
      expect(again.message.text).toBe("Hello");
      expect(again.createdAt).toEqual(T0);
      expect(again.errorCounts).toEqual({});
    });
  });

  describe("listBroadcasts", () => {
    it("lists newest first and pages through every broadcast once with the cursor", async () => {
      const created: number[] = [];
      for (let i = 0; i < 5; i += 1) created.push((await ctx.store.createBroadcast(draftInput(), [])).id);
      const listed = await allBroadcasts(ctx, undefined, 2);
      expect(listed.map((b) => b.id)).toEqual([...created].reverse());
    });

    it("filters by status, still newest first and paginated", async () => {
      const scheduled: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const status = i % 2 === 0 ? "scheduled" : "draft";
        const b = await ctx.store.createBroadcast(
          draftInput({ status, scheduledAt: status === "scheduled" ? at(60_000) : null }),
          [],
        );
        if (status === "scheduled") scheduled.push(b.id);
      }
      const listed = await allBroadcasts(ctx, "scheduled", 2);
      expect(listed.map((b) => b.id)).toEqual([...scheduled].reverse());
      expect(await allBroadcasts(ctx, "cancelled")).toEqual([]);
    });

    it("ends with a null cursor on the last page", async () => {
      await ctx.store.createBroadcast(draftInput(), []);
      const page = await ctx.store.listBroadcasts({ limit: 5 });
      expect(page.items).toHaveLength(1);
      expect(page.nextCursor).toBeNull();
    });

    it("refuses a cursor it did not issue with InvalidCursorError, for broadcasts and recipients", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), numbered(3));
      for (const cursor of ["zzz", "", "' OR 1=1 --", "-1"]) {
        await expect(ctx.store.listBroadcasts({ limit: 5, cursor })).rejects.toBeInstanceOf(
          InvalidCursorError,
        );
        await expect(ctx.store.listRecipients(created.id, { limit: 5, cursor })).rejects.toBeInstanceOf(
          InvalidCursorError,
        );
      }
    });
  });

  describe("updateBroadcast (compare-and-set on the status)", () => {
    it("applies the patch when the status is still the expected one, and bumps the version", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), numbered(2));
      const result = await ctx.store.updateBroadcast(created.id, "draft", {
        status: "sending",
        sentAt: at(1),
      });
      expect(result.type).toBe("updated");
      const stored = await mustGet(ctx.store, created.id);
      expect(stored).toMatchObject({ status: "sending", sentAt: at(1) });
      expect(stored.version).toBeGreaterThan(created.version);
      if (result.type === "updated") expect(result.broadcast).toEqual(stored);
    });

    it("stores every patchable field, and null clears a time", async () => {
      const created = await ctx.store.createBroadcast(
        draftInput({ status: "scheduled", scheduledAt: at(5) }),
        [],
      );
      await ctx.store.updateBroadcast(created.id, "scheduled", {
        status: "paused",
        scheduledAt: null,
        sentAt: at(1),
        completedAt: at(2),
        pauseReason: { type: "error_threshold", failedCount: 7, threshold: 5 },
        sentCount: 0,
        failedCount: 0,
      });
      expect(await mustGet(ctx.store, created.id)).toMatchObject({
        status: "paused",
        scheduledAt: null,
        sentAt: at(1),
        completedAt: at(2),
        pauseReason: { type: "error_threshold", failedCount: 7, threshold: 5 },
      });
      await ctx.store.updateBroadcast(created.id, "paused", {
        pauseReason: { type: "content_refused", description: "Bad Request: can't parse entities" },
        completedAt: null,
      });
      expect(await mustGet(ctx.store, created.id)).toMatchObject({
        pauseReason: { type: "content_refused", description: "Bad Request: can't parse entities" },
        completedAt: null,
      });
    });

    it("refuses with the actual status when the status changed, and changes nothing", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), []);
      const result = await ctx.store.updateBroadcast(created.id, "sending", { status: "paused" });
      expect(result).toEqual({ type: "status_changed", actual: "draft" });
      expect(await mustGet(ctx.store, created.id)).toEqual(created);
    });

    it("answers not_found for a broadcast that does not exist", async () => {
      expect(await ctx.store.updateBroadcast(987_654_321, "draft", { status: "sending" })).toEqual({
        type: "not_found",
      });
    });

    it("lets exactly one of ten racing callers win", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), numbered(1));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          ctx.store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: at(i) }),
        ),
      );
      const winners = results.filter((r) => r.type === "updated");
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.type === "status_changed")).toEqual(
        Array.from({ length: 9 }, () => ({ type: "status_changed", actual: "sending" })),
      );
      const winner = winners[0];
      if (winner?.type === "updated") expect(await mustGet(ctx.store, created.id)).toEqual(winner.broadcast);
    });
  });

  describe("findDueScheduled", () => {
    it("finds scheduled broadcasts due by now, oldest first, at most limit", async () => {
      const make = (status: "draft" | "scheduled", scheduledAt: Date | null) =>
        ctx.store.createBroadcast(draftInput({ status, scheduledAt }), []);
      const late = await make("scheduled", at(-1_000));
      const early = await make("scheduled", at(-5_000));
      const exactlyNow = await make("scheduled", at(0));
      await make("scheduled", at(1));
      await make("draft", null);
      const due = await ctx.store.findDueScheduled(T0, 10);
      expect(due.map((b) => b.id)).toEqual([early.id, late.id, exactlyNow.id]);
      const limited = await ctx.store.findDueScheduled(T0, 2);
      expect(limited.map((b) => b.id)).toEqual([early.id, late.id]);
    });

    it("no longer finds a broadcast once it has left scheduled", async () => {
      const b = await ctx.store.createBroadcast(draftInput({ status: "scheduled", scheduledAt: at(-1) }), []);
      await ctx.store.updateBroadcast(b.id, "scheduled", { status: "sending", sentAt: T0 });
      expect(await ctx.store.findDueScheduled(T0, 10)).toEqual([]);
    });
  });
}
