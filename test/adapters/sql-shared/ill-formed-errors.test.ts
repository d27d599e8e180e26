import { normalizeDescription } from "broadcastkit";
import { createSqliteStore } from "broadcastkit/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import type { BroadcastStore } from "../../../src/ports/store.js";
import {
  allRecipients,
  claimRequest,
  mustGet,
  numbered,
  record,
  sendingBroadcast,
} from "../../../src/testing/conformance/fixtures.js";
import { makePostgresStore, type TestPostgresStore } from "../../support/postgres.js";

const opened: TestPostgresStore[] = [];
afterAll(async () => {
  for (const made of opened) await made.close();
});

const stores: { name: string; open: () => Promise<BroadcastStore> }[] = [
  { name: "SQLite", open: async () => createSqliteStore({ filename: ":memory:" }) },
  {
    name: "PostgreSQL",
    open: async () => {
      const made = await makePostgresStore();
      opened.push(made);
      return made.store;
    },
  },
];

const ILL_FORMED = ["NUL \u0000 inside", "a lone \uD800 high surrogate", "a lone \uDC00 low surrogate"];

describe.each(stores)("the $name store, given an error that skipped normalizeDescription", ({ open }) => {
  it.each(ILL_FORMED)(
    "refuses %j up front with a clear error, changes nothing, and records it once normalised",
    async (error) => {
      const store = await open();
      const b = await sendingBroadcast(store, numbered(2));
      const claim = await store.claimRecipients(claimRequest(b.id));
      const before = await mustGet(store, b.id);
      const outcomes = (text: string) =>
        [
          { type: "delivered", recipientId: 1, attempts: 1, messageId: 1 },
          { type: "failed", recipientId: 2, attempts: 1, error: text, kind: "permanent" },
        ] as const;

      await expect(record(store, b.id, claim, outcomes(error))).rejects.toThrow(/normalizeDescription/);
      expect(await mustGet(store, b.id)).toEqual(before);

      const recorded = await record(store, b.id, claim, outcomes(normalizeDescription(error)));
      expect(recorded.type).toBe("recorded");
      const stored = await mustGet(store, b.id);
      expect(stored).toMatchObject({ sentCount: 1, failedCount: 1 });
      expect(stored.errorCounts).toEqual({ [normalizeDescription(error)]: 1 });
      expect((await allRecipients(store, b.id)).map((r) => r.lastError)).toEqual([
        null,
        normalizeDescription(error),
      ]);
    },
  );
});
