import { describe, expect, it } from "vitest";
import type { NewRecipient } from "../../core/types.js";
import {
  allRecipients,
  claimRequest,
  delivered,
  draftInput,
  failed,
  ids,
  mustGet,
  numbered,
  record,
  type StoreContext,
  sendingBroadcast,
} from "./fixtures.js";

const SQL_LOOKING = "'; DROP TABLE broadcasts; --";

export function describeRecipients(ctx: StoreContext): void {
  describe("listRecipients", () => {
    it("answers null for a broadcast that does not exist", async () => {
      expect(await ctx.store.listRecipients(987_654_321, { limit: 10 })).toBeNull();
    });

    it("starts every recipient pending, untried and without error", async () => {
      const created = await ctx.store.createBroadcast(draftInput(), [
        { recipientId: 1, chatId: 1001, variables: { name: "Ada", vip: true, age: 36 } },
        { recipientId: 2, chatId: 1002 },
      ]);
      const page = await ctx.store.listRecipients(created.id, { limit: 10 });
      expect(page?.nextCursor).toBeNull();
      expect(page?.items).toEqual([
        {
          broadcastId: created.id,
          recipientId: 1,
          chatId: 1001,
          variables: { name: "Ada", vip: true, age: 36 },
          state: "pending",
          attempts: 0,
          lastError: null,
          lastErrorKind: null,
          nextAttemptAt: null,
          messageId: null,
        },
        expect.objectContaining({ recipientId: 2, chatId: 1002, variables: null, state: "pending" }),
      ]);
    });

    it("pages through recipients in insertion order with the cursor", async () => {
      const reversed: NewRecipient[] = numbered(7).reverse();
      const created = await ctx.store.createBroadcast(draftInput(), reversed);
      expect(ids(await allRecipients(ctx.store, created.id, undefined, 3))).toEqual([7, 6, 5, 4, 3, 2, 1]);
    });

    it("filters by state, still in insertion order and paginated", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(9));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id, { limit: 6 }));
      await record(ctx.store, b.id, claim, [
        delivered(1),
        failed(2),
        delivered(3),
        failed(4),
        delivered(5),
        { type: "released", recipientId: 6 },
      ]);
      expect(ids(await allRecipients(ctx.store, b.id, "sent", 2))).toEqual([1, 3, 5]);
      expect(ids(await allRecipients(ctx.store, b.id, "failed", 1))).toEqual([2, 4]);
      expect(ids(await allRecipients(ctx.store, b.id, "pending", 2))).toEqual([6, 7, 8, 9]);
    });
  });

  describe("ids and texts round-trip exactly", () => {
    it("keeps 52-bit chat ids and @channel names", async () => {
      const chatIds = [-1001234567890123, 2 ** 52, -(2 ** 52), 777000, "@channel_name"];
      const created = await ctx.store.createBroadcast(
        draftInput(),
        chatIds.map((chatId, i) => ({ recipientId: i + 1, chatId })),
      );
      const listed = await allRecipients(ctx.store, created.id);
      expect(listed.map((r) => r.chatId)).toEqual(chatIds);
      const claimed = await ctx.store.claimRecipients(claimRequest(created.id));
      expect(claimed.recipients.map((r) => r.chatId)).toEqual(chatIds);
    });

    it("keeps integer and string recipient ids apart: 1 and '1' are two recipients", async () => {
      const b = await sendingBroadcast(ctx.store, [
        { recipientId: 1, chatId: 1001 },
        { recipientId: "1", chatId: 1002 },
        { recipientId: "user-abc", chatId: 1003 },
        { recipientId: 2 ** 53 - 1, chatId: 1004 },
      ]);
      expect(ids(await allRecipients(ctx.store, b.id))).toEqual([1, "1", "user-abc", 2 ** 53 - 1]);
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [
        delivered(1),
        failed("1"),
        delivered("user-abc"),
        delivered(2 ** 53 - 1),
      ]);
      const listed = await allRecipients(ctx.store, b.id);
      expect(listed.map((r) => [r.recipientId, r.chatId, r.state])).toEqual([
        [1, 1001, "sent"],
        ["1", 1002, "failed"],
        ["user-abc", 1003, "sent"],
        [2 ** 53 - 1, 1004, "sent"],
      ]);
    });

    it("stores SQL-looking text verbatim", async () => {
      const b = await sendingBroadcast(
        ctx.store,
        [{ recipientId: SQL_LOOKING, chatId: 1, variables: { v: SQL_LOOKING } }],
        {
          message: { text: SQL_LOOKING },
          createdBy: SQL_LOOKING,
        },
      );
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [failed(SQL_LOOKING, SQL_LOOKING)]);
      const stored = await mustGet(ctx.store, b.id);
      expect(stored.message.text).toBe(SQL_LOOKING);
      expect(stored.createdBy).toBe(SQL_LOOKING);
      expect(stored.errorCounts).toEqual({ [SQL_LOOKING]: 1 });
      expect(stored.errorLog.map((e) => [e.recipientId, e.error])).toEqual([[SQL_LOOKING, SQL_LOOKING]]);
      const [recipient] = await allRecipients(ctx.store, b.id);
      expect(recipient).toMatchObject({
        recipientId: SQL_LOOKING,
        variables: { v: SQL_LOOKING },
        lastError: SQL_LOOKING,
      });
    });

    it("stores the message id a delivery reports, numeric or text", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(3));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [delivered(1, 2 ** 40), delivered(2, "m-2"), delivered(3, null)]);
      const listed = await allRecipients(ctx.store, b.id);
      expect(listed.map((r) => r.messageId)).toEqual([2 ** 40, "m-2", null]);
    });

    it("stores the chat id a migrated chat moved to", async () => {
      const b = await sendingBroadcast(ctx.store, numbered(2));
      const claim = await ctx.store.claimRecipients(claimRequest(b.id));
      await record(ctx.store, b.id, claim, [
        { type: "delivered", recipientId: 1, attempts: 1, messageId: 5, chatId: -1009876543210 },
        {
          type: "failed",
          recipientId: 2,
          attempts: 1,
          error: "Forbidden",
          kind: "permanent",
          chatId: -1001111111111,
        },
      ]);
      const listed = await allRecipients(ctx.store, b.id);
      expect(listed.map((r) => r.chatId)).toEqual([-1009876543210, -1001111111111]);
    });
  });
}
