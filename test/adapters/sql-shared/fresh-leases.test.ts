import Database from "better-sqlite3";
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
  retryAt,
  sendingBroadcast,
} from "../../../src/testing/conformance/fixtures.js";
import { makePostgresStore, type TestPostgresStore, testPool } from "../../support/postgres.js";

interface FreshLease {
  epoch: number;
  first_seq: number;
  last_seq: number;
}

/** A SQL store, and a look at the tables behind the fresh-recipient cursor. */
interface InspectedStore {
  readonly store: BroadcastStore;
  /** The noted ranges of fresh leases, oldest first. */
  leases(): Promise<FreshLease[]>;
  /** Positions of the pending recipients in the claim index (not fresh), in order. */
  waiting(): Promise<number[]>;
}

const opened: TestPostgresStore[] = [];
afterAll(async () => {
  for (const made of opened) await made.close();
});

const stores: { name: string; open: () => Promise<InspectedStore> }[] = [
  {
    name: "SQLite",
    open: async () => {
      const db = new Database(":memory:");
      return {
        store: createSqliteStore({ db }),
        leases: async () =>
          db
            .prepare("SELECT epoch, first_seq, last_seq FROM broadcast_fresh_leases ORDER BY epoch")
            .all() as FreshLease[],
        waiting: async () =>
          (
            db
              .prepare(
                "SELECT seq FROM broadcast_recipients WHERE state = 'pending' AND fresh = 0 ORDER BY seq",
              )
              .all() as { seq: number }[]
          ).map((r) => r.seq),
      };
    },
  },
  {
    name: "PostgreSQL",
    open: async () => {
      const made = await makePostgresStore();
      opened.push(made);
      const schema = `"${made.schema}"`;
      return {
        store: made.store,
        leases: async () =>
          (
            await testPool().query<FreshLease>(
              `SELECT epoch::int AS epoch, first_seq, last_seq FROM ${schema}.broadcast_fresh_leases ORDER BY epoch`,
            )
          ).rows,
        waiting: async () =>
          (
            await testPool().query<{ seq: number }>(
              `SELECT seq FROM ${schema}.broadcast_recipients WHERE state = 'pending' AND NOT fresh ORDER BY seq`,
            )
          ).rows.map((r) => r.seq),
      };
    },
  },
];

describe.each(stores)(
  "$name: recipients never handed out are claimed by cursor, outside the claim index",
  ({ open }) => {
    it("hands them out in insertion order, notes one range per claim, and forgets it once recorded", async () => {
      const { store, leases, waiting } = await open();
      const b = await sendingBroadcast(store, numbered(5));
      const first = await store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      const second = await store.claimRecipients(claimRequest(b.id, { limit: 2 }));
      expect(ids(first.recipients)).toEqual([1, 2]);
      expect(ids(second.recipients)).toEqual([3, 4]);
      expect(await leases()).toEqual([
        { epoch: first.epoch, first_seq: 0, last_seq: 1 },
        { epoch: second.epoch, first_seq: 2, last_seq: 3 },
      ]);
      expect(await waiting()).toEqual([]);
      await record(store, b.id, first, [delivered(1)]);
      expect(await leases()).toHaveLength(2);
      await record(store, b.id, first, [delivered(2)]);
      expect(await leases()).toEqual([{ epoch: second.epoch, first_seq: 2, last_seq: 3 }]);
      await record(store, b.id, second, [delivered(4), delivered(3)]);
      expect(await leases()).toEqual([]);
    });

    it("moves a recipient into the claim index only when it must wait: a retry, a release, an expired lease", async () => {
      const { store, leases, waiting } = await open();
      const b = await sendingBroadcast(store, numbered(4));
      const claim = await store.claimRecipients(claimRequest(b.id, { limit: 3 }));
      await record(store, b.id, claim, [retryAt(1, at(10 * LEASE_MS)), { type: "released", recipientId: 2 }]);
      expect(await waiting()).toEqual([0, 1]);
      const afterExpiry = await store.claimRecipients(
        claimRequest(b.id, { owner: "worker-b", now: at(LEASE_MS) }),
      );
      expect(afterExpiry.recipients.map((r) => [r.recipientId, r.takenOver])).toEqual([
        [2, false],
        [3, true],
        [4, false],
      ]);
      expect(await leases()).toEqual([{ epoch: afterExpiry.epoch, first_seq: 3, last_seq: 3 }]);
      expect(await record(store, b.id, claim, [delivered(3)], { now: at(LEASE_MS) })).toEqual({
        type: "lease_lost",
        recipientIds: [3],
      });
    });
  },
);
