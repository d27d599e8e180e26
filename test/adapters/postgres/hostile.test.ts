import type { NewRecipient } from "broadcastkit";
import { createPostgresStore } from "broadcastkit/postgres";
import { afterEach, describe, expect, it } from "vitest";
import type { NewBroadcast } from "../../../src/ports/store.js";
import {
  DATABASE_URL,
  dropSchema,
  makePostgresStore,
  type TestPostgresStore,
  testPool,
} from "../../support/postgres.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const SQL_LOOKING = `'); DROP SCHEMA public CASCADE; --`;
const draft = (overrides: Partial<NewBroadcast> = {}): NewBroadcast => ({
  message: { text: "Hello" },
  status: "draft",
  scheduledAt: null,
  createdBy: null,
  errorThreshold: null,
  createdAt: T0,
  ...overrides,
});
function* numbered(count: number): Generator<NewRecipient> {
  for (let i = 1; i <= count; i += 1) yield { recipientId: i, chatId: 1000 + i };
}

const opened: TestPostgresStore[] = [];
const fresh = async () => {
  const made = await makePostgresStore();
  opened.push(made);
  return made;
};
afterEach(async () => {
  await Promise.all(opened.splice(0).map((made) => made.close()));
});

const countBroadcasts = async (schema: string) =>
  Number((await testPool().query(`SELECT count(*) AS n FROM "${schema}".broadcasts`)).rows[0].n);
const countRecipients = async (schema: string) =>
  Number((await testPool().query(`SELECT count(*) AS n FROM "${schema}".broadcast_recipients`)).rows[0].n);

describe("PostgreSQL store with hostile data", () => {
  it("works in a schema whose name looks like SQL, and stores SQL-looking text verbatim", async () => {
    const schema = `bk_test_${process.pid}_"quoted"; ${SQL_LOOKING}`;
    const store = createPostgresStore({ pool: testPool(), schema });
    try {
      const created = await store.createBroadcast(
        draft({ message: { text: SQL_LOOKING, parseMode: "HTML" }, createdBy: SQL_LOOKING }),
        [{ recipientId: SQL_LOOKING, chatId: "@channel_name", variables: { [SQL_LOOKING]: SQL_LOOKING } }],
      );
      expect(await store.getBroadcast(created.id)).toMatchObject({
        message: { text: SQL_LOOKING, parseMode: "HTML" },
        createdBy: SQL_LOOKING,
      });
      const page = await store.listRecipients(created.id, { limit: 5 });
      expect(page?.items).toEqual([
        expect.objectContaining({
          recipientId: SQL_LOOKING,
          chatId: "@channel_name",
          variables: { [SQL_LOOKING]: SQL_LOOKING },
        }),
      ]);
      expect((await testPool().query("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")).rowCount).toBe(
        1,
      );
    } finally {
      await dropSchema(schema);
    }
  });

  it("round-trips extreme ids: 53-bit chat ids, '0' against 0, unicode and quotes", async () => {
    const { store } = await fresh();
    const recipients: NewRecipient[] = [
      { recipientId: 0, chatId: Number.MAX_SAFE_INTEGER },
      { recipientId: "0", chatId: -Number.MAX_SAFE_INTEGER },
      { recipientId: '"quoted" and \\ backslash', chatId: -(2 ** 52) },
      { recipientId: "рассылка 🚀", chatId: 2 ** 52 },
      { recipientId: Number.MAX_SAFE_INTEGER, chatId: "@a_channel" },
    ];
    const created = await store.createBroadcast(draft(), recipients);
    const page = await store.listRecipients(created.id, { limit: 10 });
    expect(page?.items.map((r) => [r.recipientId, r.chatId])).toEqual(
      recipients.map((r) => [r.recipientId, r.chatId]),
    );
  });

  describe("when storage fails", () => {
    it("rejects a creation whose source breaks after several chunks, and leaves nothing", async () => {
      const { store, schema } = await fresh();
      function* breaking(): Generator<NewRecipient> {
        yield* numbered(12_000);
        throw new Error("source broke");
      }
      await expect(store.createBroadcast(draft(), breaking())).rejects.toThrow("source broke");
      async function* duplicateLate(): AsyncGenerator<NewRecipient> {
        yield* numbered(11_000);
        yield { recipientId: 5, chatId: 5 };
      }
      await expect(store.createBroadcast(draft(), duplicateLate())).rejects.toThrow(/duplicate key/);
      expect(await countBroadcasts(schema)).toBe(0);
      expect(await countRecipients(schema)).toBe(0);
    });

    it("rejects a creation once the recipients table is gone, leaving no half-written broadcast", async () => {
      const { store, schema } = await fresh();
      await store.migrate();
      await testPool().query(`DROP TABLE "${schema}".broadcast_recipients`);
      await expect(store.createBroadcast(draft(), numbered(3))).rejects.toThrow(/does not exist/);
      expect(await countBroadcasts(schema)).toBe(0);
    });

    it("rejects a record once the recipients table is gone, and counts nothing", async () => {
      const { store, schema } = await fresh();
      const created = await store.createBroadcast(draft(), numbered(2));
      await store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 });
      const claim = await store.claimRecipients({
        broadcastId: created.id,
        owner: "w",
        limit: 2,
        now: T0,
        leaseMs: 1000,
        onlyFailed: false,
      });
      const before = await store.getBroadcast(created.id);
      await testPool().query(`DROP TABLE "${schema}".broadcast_recipients`);
      await expect(
        store.recordOutcomes({
          broadcastId: created.id,
          epoch: claim.epoch,
          now: T0,
          errorLogLimit: 10,
          outcomes: [{ type: "delivered", recipientId: 1, attempts: 1, messageId: 1 }],
        }),
      ).rejects.toThrow(/does not exist/);
      expect(await store.getBroadcast(created.id)).toEqual(before);
    });

    it("rejects every call once its own pool is closed", async () => {
      const made = await fresh();
      const store = createPostgresStore({ connectionString: DATABASE_URL, schema: made.schema });
      await store.getBroadcast(1);
      await store.close();
      await expect(store.getBroadcast(1)).rejects.toThrow();
      await expect(store.createBroadcast(draft(), numbered(1))).rejects.toThrow();
      expect(await countBroadcasts(made.schema)).toBe(0);
    });

    it("leaves a pool it was given open when it closes", async () => {
      const { store } = await fresh();
      await store.close();
      expect((await testPool().query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    });
  });

  it("reads a broadcast's progress from its own row, never from its recipients", async () => {
    const { store, schema } = await fresh();
    const created = await store.createBroadcast(draft(), numbered(3));
    await store.updateBroadcast(created.id, "draft", { status: "sending", sentAt: T0 });
    const claim = await store.claimRecipients({
      broadcastId: created.id,
      owner: "w",
      limit: 3,
      now: T0,
      leaseMs: 1000,
      onlyFailed: false,
    });
    await store.recordOutcomes({
      broadcastId: created.id,
      epoch: claim.epoch,
      now: T0,
      errorLogLimit: 10,
      outcomes: [
        { type: "delivered", recipientId: 1, attempts: 1, messageId: 1 },
        { type: "failed", recipientId: 2, attempts: 1, error: "Forbidden", kind: "permanent" },
        { type: "released", recipientId: 3 },
      ],
    });
    await testPool().query(`ALTER TABLE "${schema}".broadcast_recipients RENAME TO elsewhere`);
    expect(await store.getBroadcast(created.id)).toMatchObject({
      totalRecipients: 3,
      sentCount: 1,
      failedCount: 1,
      errorCounts: { Forbidden: 1 },
    });
  });
});
