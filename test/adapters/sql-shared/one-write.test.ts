import Database from "better-sqlite3";
import { createBroadcastService, createSendWorker } from "broadcastkit";
import { createFakeSender, createMemoryQueue } from "broadcastkit/memory";
import { createSqliteStore } from "broadcastkit/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import type { BroadcastStore } from "../../../src/ports/store.js";
import {
  at,
  claimRequest,
  delivered,
  ids,
  LEASE_MS,
  numbered,
  record,
  sendingBroadcast,
} from "../../../src/testing/conformance/fixtures.js";
import { makePostgresStore, type TestPostgresStore, testPool } from "../../support/postgres.js";

/** A SQL store whose recipient rows count their writes (an AFTER UPDATE trigger per row). */
interface CountedStore {
  readonly store: BroadcastStore;
  /** How many times each recipient row of the broadcast was updated, by position; unwritten rows absent. */
  writes(broadcastId: number): Promise<Map<number, number>>;
}

const opened: TestPostgresStore[] = [];
afterAll(async () => {
  for (const made of opened) await made.close();
});

const stores: { name: string; open: () => Promise<CountedStore> }[] = [
  {
    name: "SQLite",
    open: async () => {
      const db = new Database(":memory:");
      const store = createSqliteStore({ db });
      await store.migrate();
      db.exec(`
        CREATE TABLE row_writes (broadcast_id INTEGER, seq INTEGER, n INTEGER, PRIMARY KEY (broadcast_id, seq));
        CREATE TRIGGER count_row_writes AFTER UPDATE ON broadcast_recipients FOR EACH ROW BEGIN
          INSERT INTO row_writes VALUES (NEW.broadcast_id, NEW.seq, 1)
            ON CONFLICT (broadcast_id, seq) DO UPDATE SET n = n + 1;
        END;`);
      return {
        store,
        writes: async (broadcastId) => {
          const rows = db
            .prepare("SELECT seq, n FROM row_writes WHERE broadcast_id = ?")
            .all(broadcastId) as { seq: number; n: number }[];
          return new Map(rows.map((r) => [r.seq, r.n]));
        },
      };
    },
  },
  {
    name: "PostgreSQL",
    open: async () => {
      const made = await makePostgresStore();
      opened.push(made);
      await made.store.migrate();
      const s = `"${made.schema}"`;
      await testPool().query(`
        CREATE TABLE ${s}.row_writes (broadcast_id BIGINT, seq INTEGER, n INTEGER, PRIMARY KEY (broadcast_id, seq));
        CREATE FUNCTION ${s}.count_row_write() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO ${s}.row_writes AS w VALUES (NEW.broadcast_id, NEW.seq, 1)
            ON CONFLICT (broadcast_id, seq) DO UPDATE SET n = w.n + 1;
          RETURN NEW;
        END $$;
        CREATE TRIGGER count_row_writes AFTER UPDATE ON ${s}.broadcast_recipients
          FOR EACH ROW EXECUTE FUNCTION ${s}.count_row_write();`);
      return {
        store: made.store,
        writes: async (broadcastId) => {
          const rows = await testPool().query<{ seq: number; n: number }>(
            `SELECT seq, n FROM ${s}.row_writes WHERE broadcast_id = $1`,
            [broadcastId],
          );
          return new Map(rows.rows.map((r) => [r.seq, r.n]));
        },
      };
    },
  },
];

const timesWritten = (writes: Map<number, number>, count: number): number[] =>
  Array.from({ length: count }, (_, seq) => writes.get(seq) ?? 0);

describe.each(stores)("$name: a first delivery writes its recipient row once", ({ open }) => {
  it("a claim writes no recipient row; its recorded outcome writes each once", async () => {
    const { store, writes } = await open();
    const b = await sendingBroadcast(store, numbered(5));
    const held = await store.claimRecipients(claimRequest(b.id, { limit: 3 }));
    expect(ids(held.recipients)).toEqual([1, 2, 3]);
    expect(await writes(b.id)).toEqual(new Map());
    await store.renewLease({
      broadcastId: b.id,
      epoch: held.epoch,
      recipientIds: [1, 2, 3],
      now: at(1000),
      leaseMs: LEASE_MS,
    });
    expect(await writes(b.id)).toEqual(new Map());
    await record(store, b.id, held, [delivered(1), delivered(2)]);
    await record(store, b.id, held, [delivered(3)]);
    expect(timesWritten(await writes(b.id), 5)).toEqual([1, 1, 1, 0, 0]);
  });

  it("writes the lease onto the rows only when an expired range is handed back", async () => {
    const { store, writes } = await open();
    const b = await sendingBroadcast(store, numbered(3));
    const crashed = await store.claimRecipients(claimRequest(b.id, { limit: 2 }));
    await record(store, b.id, crashed, [delivered(1)]);
    const takeover = await store.claimRecipients(
      claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS), limit: 10 }),
    );
    expect(takeover.recipients.map((r) => [r.recipientId, r.takenOver])).toEqual([
      [2, true],
      [3, false],
    ]);
    // Recipient 2: handed back (its old lease written), then taken over; recipient 3 untouched.
    expect(timesWritten(await writes(b.id), 3)).toEqual([1, 2, 0]);
    expect(await record(store, b.id, crashed, [delivered(2)], { now: at(LEASE_MS) })).toEqual({
      type: "lease_lost",
      recipientIds: [2],
    });
  });

  it("a broadcast sent end to end by two workers with the defaults writes every recipient once", async () => {
    const { store, writes } = await open();
    const queue = createMemoryQueue();
    const service = createBroadcastService({ store, queue });
    const sender = createFakeSender({ record: false });
    const total = 2_500;
    const created = (
      await service.create({
        message: { text: "hello" },
        recipients: Array.from({ length: total }, (_, i) => ({ recipientId: i + 1, chatId: 1000 + i })),
      })
    )._unsafeUnwrap();
    (await service.start(created.id))._unsafeUnwrap();
    const workers = [0, 1].map((i) => createSendWorker({ store, queue, sender, workerId: `w${i}` }));
    const runs = await Promise.all(
      workers.map((w) => w.handle({ broadcastId: created.id, onlyFailed: false })),
    );
    for (const run of runs) expect(run.isOk()).toBe(true);
    expect((await service.getProgress(created.id))._unsafeUnwrap()).toMatchObject({
      status: "sent",
      sentCount: total,
    });
    const counted = timesWritten(await writes(created.id), total);
    expect(counted.filter((n) => n !== 1)).toEqual([]);
  });
});
