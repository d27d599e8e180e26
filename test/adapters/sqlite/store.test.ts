import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { NewRecipient } from "broadcastkit";
import { createSqliteStore, type SqliteStore } from "broadcastkit/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import type { NewBroadcast } from "../../../src/ports/store.js";

const directory = mkdtempSync(join(tmpdir(), "bk-sqlite-store-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(directory, `db-${++files}.sqlite`);

const T0 = new Date("2030-01-01T00:00:00.000Z");
const draft = (overrides: Partial<NewBroadcast> = {}): NewBroadcast => ({
  message: { text: "Hello" },
  status: "draft",
  scheduledAt: null,
  createdBy: null,
  errorThreshold: null,
  createdAt: T0,
  ...overrides,
});
const numbered = (n: number, from = 1): NewRecipient[] =>
  Array.from({ length: n }, (_, i) => ({ recipientId: from + i, chatId: 1000 + from + i }));

/** Worker "w" claims up to `limit` of a sending broadcast's recipients at T0. */
const claimFirst = (store: SqliteStore, broadcastId: number, limit: number) =>
  store.claimRecipients({ broadcastId, owner: "w", limit, now: T0, leaseMs: 1000, onlyFailed: false });

async function* trickling(
  recipients: readonly NewRecipient[],
  failAfter?: number,
): AsyncGenerator<NewRecipient> {
  let given = 0;
  for (const recipient of recipients) {
    if (given === failAfter) throw new Error("source broke");
    await new Promise((resolve) => setImmediate(resolve));
    given += 1;
    yield recipient;
  }
}

async function sending(store: SqliteStore, recipients: readonly NewRecipient[]) {
  const created = await store.createBroadcast(draft(), recipients);
  const started = await store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 });
  if (started.type !== "updated") throw new Error("could not start");
  return started.broadcast;
}

describe("the SQLite store", () => {
  it("opens a database file in WAL mode", async () => {
    const filename = freshFile();
    const store = createSqliteStore({ filename });
    await store.getBroadcast(1);
    const probe = new Database(filename, { readonly: true });
    expect(probe.pragma("journal_mode", { simple: true })).toBe("wal");
    probe.close();
    await store.close();
  });

  it("closes a connection it opened, and leaves open one it was given", async () => {
    const given = new Database(":memory:");
    await createSqliteStore({ db: given }).close();
    expect(given.open).toBe(true);
    const own = createSqliteStore({ filename: ":memory:" });
    await own.close();
    await expect(own.getBroadcast(1)).rejects.toThrow();
  });

  it("reads a broadcast's progress from its own row, never from its recipients", async () => {
    const db = new Database(":memory:");
    const store = createSqliteStore({ db });
    const b = await sending(store, numbered(3));
    const claim = await claimFirst(store, b.id, 3);
    await store.recordOutcomes({
      broadcastId: b.id,
      epoch: claim.epoch,
      now: T0,
      errorLogLimit: 10,
      outcomes: [
        { type: "delivered", recipientId: 1, attempts: 1, messageId: 1 },
        { type: "failed", recipientId: 2, attempts: 1, error: "Forbidden", kind: "permanent" },
        { type: "released", recipientId: 3 },
      ],
    });
    db.exec("ALTER TABLE broadcast_recipients RENAME TO elsewhere");
    expect(await store.getBroadcast(b.id)).toMatchObject({
      totalRecipients: 3,
      sentCount: 1,
      failedCount: 1,
      errorCounts: { Forbidden: 1 },
    });
  });

  it("keeps no more error-log entries than its errorLogLimit option, whatever a caller asks", async () => {
    const store = createSqliteStore({ filename: ":memory:", errorLogLimit: 2 });
    const b = await sending(store, numbered(5));
    const claim = await claimFirst(store, b.id, 5);
    const recorded = await store.recordOutcomes({
      broadcastId: b.id,
      epoch: claim.epoch,
      now: T0,
      errorLogLimit: 1000,
      outcomes: numbered(5).map((r) => ({
        type: "failed" as const,
        recipientId: r.recipientId,
        attempts: 1,
        error: `e${r.recipientId}`,
        kind: "permanent" as const,
      })),
    });
    expect(recorded.type === "recorded" && recorded.broadcast.errorLog.map((e) => e.recipientId)).toEqual([
      4, 5,
    ]);
  });

  it("clears a delivered recipient's last error on both write paths: by position, and row by row", async () => {
    const db = new Database(":memory:");
    const store = createSqliteStore({ db });
    // A second store on the same connection does not know the first one's leases: it records row by row.
    const forgetful = createSqliteStore({ db });
    const b = await sending(store, numbered(2));
    const claimAt = (now: Date) =>
      store.claimRecipients({
        broadcastId: b.id,
        owner: "w",
        limit: 2,
        now,
        leaseMs: 1000,
        onlyFailed: false,
      });
    const first = await claimAt(T0);
    await store.recordOutcomes({
      broadcastId: b.id,
      epoch: first.epoch,
      now: T0,
      errorLogLimit: 10,
      outcomes: [1, 2].map((recipientId) => ({
        type: "retry" as const,
        recipientId,
        attempts: 1,
        error: "Network timeout",
        kind: "transient" as const,
        nextAttemptAt: T0,
      })),
    });
    const retried = await claimAt(T0);
    const deliver = (recipientId: number) => ({
      type: "delivered" as const,
      recipientId,
      attempts: 2,
      messageId: 7,
    });
    await store.recordOutcomes({
      broadcastId: b.id,
      epoch: retried.epoch,
      now: T0,
      errorLogLimit: 10,
      outcomes: [deliver(1)],
    });
    await forgetful.recordOutcomes({
      broadcastId: b.id,
      epoch: retried.epoch,
      now: T0,
      errorLogLimit: 10,
      outcomes: [deliver(2)],
    });
    expect(
      db.prepare("SELECT state, last_error, last_error_kind FROM broadcast_recipients ORDER BY seq").all(),
    ).toEqual([
      { state: "sent", last_error: null, last_error_kind: null },
      { state: "sent", last_error: null, last_error_kind: null },
    ]);
  });

  it("writes each delivered recipient its own message id, in runs of positions or scattered, in any order", async () => {
    const store = createSqliteStore({ filename: ":memory:" });
    const b = await sending(store, numbered(60));
    const claim = await claimFirst(store, b.id, 60);
    const messageOf = (id: number): number | string => (id % 3 === 0 ? `m"${id}" ✓` : id * 10);
    const deliver = (recipientId: number) => ({
      type: "delivered" as const,
      recipientId,
      attempts: 1,
      messageId: messageOf(recipientId),
    });
    // A run of 30 given backwards, three scattered, a run of 11 with a hole; then the rest.
    const firstWrite = [
      ...numbered(30).reverse(),
      ...numbered(1, 32),
      ...numbered(1, 34),
      ...numbered(1, 36),
      ...numbered(5, 40),
      ...numbered(6, 46),
    ].map((r) => deliver(Number(r.recipientId)));
    const written = new Set(firstWrite.map((o) => o.recipientId));
    const rest = numbered(60)
      .map((r) => Number(r.recipientId))
      .filter((id) => !written.has(id))
      .map(deliver);
    for (const outcomes of [firstWrite, rest]) {
      const recorded = await store.recordOutcomes({
        broadcastId: b.id,
        epoch: claim.epoch,
        now: T0,
        errorLogLimit: 10,
        outcomes,
      });
      expect(recorded.type).toBe("recorded");
    }
    const page = await store.listRecipients(b.id, { limit: 100 });
    expect(page?.items.map((r) => [r.recipientId, r.state, r.messageId])).toEqual(
      numbered(60).map((r) => [r.recipientId, "sent", messageOf(Number(r.recipientId))]),
    );
  });

  it("answers lease_lost naming only the recipients taken over from a run, and writes none of the batch", async () => {
    const store = createSqliteStore({ filename: ":memory:" });
    const b = await sending(store, numbered(20));
    const claimAs = (owner: string, limit: number, now: Date) =>
      store.claimRecipients({ broadcastId: b.id, owner, limit, now, leaseMs: 1000, onlyFailed: false });
    const mine = await claimAs("slow", 20, T0);
    const theirs = await claimAs("fast", 5, new Date(T0.getTime() + 2000));
    const takenOver = theirs.recipients.map((r) => r.recipientId);
    expect(takenOver).toHaveLength(5);
    const recorded = await store.recordOutcomes({
      broadcastId: b.id,
      epoch: mine.epoch,
      now: T0,
      errorLogLimit: 10,
      outcomes: numbered(20).map((r) => ({
        type: "delivered" as const,
        recipientId: r.recipientId,
        attempts: 1,
        messageId: 1,
      })),
    });
    expect(recorded).toEqual({ type: "lease_lost", recipientIds: takenOver });
    expect((await store.getBroadcast(b.id))?.sentCount).toBe(0);
  });

  it("keeps a creator's type: 42 and '42' stay apart", async () => {
    const store = createSqliteStore({ filename: ":memory:" });
    const asNumber = await store.createBroadcast(draft({ createdBy: 42 }), []);
    const asText = await store.createBroadcast(draft({ createdBy: "42" }), []);
    expect((await store.getBroadcast(asNumber.id))?.createdBy).toBe(42);
    expect((await store.getBroadcast(asText.id))?.createdBy).toBe("42");
  });

  describe("creating from an async source", () => {
    it("makes other calls wait for it, so they never see or join its open transaction", async () => {
      const store = createSqliteStore({ filename: freshFile() });
      const existing = await store.createBroadcast(draft(), numbered(2));
      const slow = store.createBroadcast(draft(), trickling(numbered(50), 40));
      const meanwhile = Promise.all([
        store.createBroadcast(draft(), numbered(3)),
        store.updateBroadcast(existing.id, "draft", { status: "scheduled", scheduledAt: T0 }),
        store.listBroadcasts({ limit: 10 }),
      ]);
      await expect(slow).rejects.toThrow("source broke");
      const [other, updated, listed] = await meanwhile;
      expect(updated.type).toBe("updated");
      expect(listed.items.map((b) => b.id)).toEqual([other.id, existing.id]);
      const after = await store.listBroadcasts({ limit: 10 });
      expect(after.items.map((b) => [b.id, b.totalRecipients])).toEqual([
        [other.id, 3],
        [existing.id, 2],
      ]);
      expect((await store.getBroadcast(existing.id))?.status).toBe("scheduled");
      await store.close();
    });

    it("stores every recipient of a long async source, in order", async () => {
      async function* many(): AsyncGenerator<NewRecipient> {
        for (let i = 1; i <= 20_000; i += 1) yield { recipientId: `user-${i}`, chatId: -100_000_000_000 - i };
      }
      const store = createSqliteStore({ filename: ":memory:" });
      const created = await store.createBroadcast(draft(), many());
      expect(created.totalRecipients).toBe(20_000);
      const page = await store.listRecipients(created.id, { limit: 2, cursor: undefined });
      expect(page?.items.map((r) => [r.recipientId, r.chatId])).toEqual([
        ["user-1", -100_000_000_001],
        ["user-2", -100_000_000_002],
      ]);
    });
  });

  describe("when storage fails", () => {
    it("rejects a creation that breaks a constraint midway, and stores none of it", async () => {
      const store = createSqliteStore({ filename: ":memory:" });
      const duplicateLate = [...numbered(3_000), { recipientId: 17, chatId: 1 }];
      await expect(store.createBroadcast(draft(), duplicateLate)).rejects.toThrow(/UNIQUE/);
      await expect(store.createBroadcast(draft(), trickling(duplicateLate))).rejects.toThrow(/UNIQUE/);
      expect((await store.listBroadcasts({ limit: 10 })).items).toEqual([]);
    });

    it("rejects every call once the table is gone, and changes nothing", async () => {
      const db = new Database(":memory:");
      const store = createSqliteStore({ db });
      const b = await sending(store, numbered(2));
      const claim = await claimFirst(store, b.id, 2);
      const before = await store.getBroadcast(b.id);
      db.exec("DROP TABLE broadcast_recipients");
      await expect(
        store.recordOutcomes({
          broadcastId: b.id,
          epoch: claim.epoch,
          now: T0,
          errorLogLimit: 10,
          outcomes: [{ type: "delivered", recipientId: 1, attempts: 1, messageId: 1 }],
        }),
      ).rejects.toThrow(/no such table/);
      await expect(store.createBroadcast(draft(), numbered(1))).rejects.toThrow(/no such table/);
      expect(await store.getBroadcast(b.id)).toEqual(before);
      expect((await store.listBroadcasts({ limit: 10 })).items).toHaveLength(1);
    });
  });
});
