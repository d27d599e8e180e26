import { progressOf } from "broadcastkit";
import { createPostgresStore, POSTGRES_MIGRATIONS } from "broadcastkit/postgres";
import { afterEach, describe, expect, it } from "vitest";
import { tableNames } from "../../../src/adapters/postgres/schema.js";
import { claimRequest } from "../../../src/testing/conformance/fixtures.js";
import { DATABASE_URL, dropSchema, testPool, uniqueSchema } from "../../support/postgres.js";

const ALL_VERSIONS = POSTGRES_MIGRATIONS.map((m) => m.version);
const used: string[] = [];
const schemaForTest = () => {
  const schema = uniqueSchema();
  used.push(schema);
  return schema;
};
afterEach(async () => {
  await Promise.all(used.splice(0).map((schema) => dropSchema(schema)));
});

const tablesIn = async (schema: string): Promise<string[]> =>
  (
    await testPool().query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
      [schema],
    )
  ).rows.map((r) => r.tablename);

/** The seed's table before its migration 0010, as Django creates it on PostgreSQL. */
const legacyTable = (schema: string, timeType = "timestamp with time zone") => `
  CREATE SCHEMA "${schema}";
  CREATE TABLE "${schema}".broadcasts (
    id serial PRIMARY KEY,
    created_by integer NOT NULL,
    message text NOT NULL,
    status varchar(20) NOT NULL,
    recipient_count integer NOT NULL,
    sent_count integer NOT NULL,
    failed_count integer NOT NULL,
    created_at ${timeType} NOT NULL,
    scheduled_at ${timeType} NULL,
    sent_at ${timeType} NULL,
    completed_at ${timeType} NULL
  );`;

const LEGACY_ROWS = [
  [
    7,
    "Welcome!",
    "sent",
    500,
    500,
    0,
    "2024-12-27T10:00:00.123Z",
    null,
    "2024-12-27T10:01:00Z",
    "2024-12-27T10:05:00Z",
  ],
  [
    7,
    "Promo <b>50%</b>",
    "sending",
    500,
    450,
    40,
    "2024-12-27T11:00:00Z",
    null,
    "2024-12-27T11:00:30Z",
    null,
  ],
  [
    8,
    "'; DROP TABLE broadcasts; --",
    "cancelled",
    10,
    0,
    0,
    "2024-12-26T09:00:00Z",
    null,
    null,
    "2024-12-26T09:30:00Z",
  ],
  [9, "Later", "scheduled", 3, 0, 0, "2024-12-27T12:00:00Z", "2025-01-01T00:00:00Z", null, null],
] as const;

async function fillLegacy(schema: string, timeType?: string): Promise<void> {
  await testPool().query(legacyTable(schema, timeType));
  for (const row of LEGACY_ROWS) {
    await testPool().query(
      `INSERT INTO "${schema}".broadcasts (created_by, message, status, recipient_count, sent_count,
         failed_count, created_at, scheduled_at, sent_at, completed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [...row],
    );
  }
}

const date = (text: string | null) => (text === null ? null : new Date(text));

describe("PostgreSQL migrations", () => {
  it("apply every version once; migrating again applies nothing", async () => {
    const store = createPostgresStore({ pool: testPool(), schema: schemaForTest() });
    expect(await store.migrate()).toEqual(ALL_VERSIONS);
    expect(await store.migrate()).toEqual([]);
  });

  it("carry a schema of version 2 forward: failed recipients indexed alone, a version-2 lease honoured", async () => {
    const schema = schemaForTest();
    const tables = tableNames(schema);
    const client = await testPool().connect();
    try {
      await client.query(`CREATE SCHEMA "${schema}"`);
      await client.query(`CREATE TABLE ${tables.migrations}
        (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version <= 2)) {
        await migration.up(client, tables);
        await client.query(`INSERT INTO ${tables.migrations} (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
      }
    } finally {
      client.release();
    }
    const indexes = async () =>
      (
        await testPool().query<{ indexname: string }>(
          "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'broadcast_recipients'",
          [schema],
        )
      ).rows.map((r) => r.indexname);
    expect(await indexes()).toContain("broadcast_recipients_done");
    await testPool().query(
      `INSERT INTO ${tables.broadcasts} (message, status, created_at, recipient_count, epoch_counter) VALUES ('old', 'sending', now(), 2, 1)`,
    );
    // Version 2 wrote a lease's expiry into due_at as well.
    await testPool().query(
      `INSERT INTO ${tables.recipients}
         (broadcast_id, seq, recipient_id, chat_id, state, last_error, last_error_kind, due_at,
          lease_owner, lease_epoch, lease_expires_at)
       VALUES (1, 0, '1', 11, 'failed', 'chat not found', 'permanent', '-infinity', NULL, NULL, NULL),
              (1, 1, '2', 12, 'pending', NULL, NULL, $1, 'old-worker', 1, $1)`,
      [new Date(5000)],
    );

    const store = createPostgresStore({ pool: testPool(), schema });
    expect(await store.migrate()).toEqual(ALL_VERSIONS.filter((version) => version > 2));
    expect(await indexes()).not.toContain("broadcast_recipients_done");
    expect(await indexes()).toContain("broadcast_recipients_failed");
    const failedPage = await store.listRecipients(1, { limit: 10, status: "failed" });
    expect(failedPage?.items.map((r) => [r.recipientId, r.lastError])).toEqual([[1, "chat not found"]]);

    const claim = (now: number) =>
      store.claimRecipients(claimRequest(1, { owner: "new-worker", now: new Date(now), leaseMs: 1000 }));
    expect(await claim(4999)).toMatchObject({ recipients: [], retryAt: new Date(5000) });
    const taken = await claim(5000);
    expect(taken.recipients).toEqual([expect.objectContaining({ recipientId: 2, takenOver: true })]);
  });

  it("carry a schema of version 3 forward: counters, versions and a fresh range's lease kept", async () => {
    const schema = schemaForTest();
    const tables = tableNames(schema);
    const client = await testPool().connect();
    try {
      await client.query(`CREATE SCHEMA "${schema}"`);
      await client.query(`CREATE TABLE ${tables.migrations}
        (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`);
      for (const migration of POSTGRES_MIGRATIONS.filter((m) => m.version <= 3)) {
        await migration.up(client, tables);
        await client.query(`INSERT INTO ${tables.migrations} (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
      }
    } finally {
      client.release();
    }
    // As version 3 left a broadcast mid-send: one recipient sent, a fresh range (epoch 2) leased
    // to a worker with the lease also written on its rows, one recipient never handed out.
    await testPool().query(
      `INSERT INTO ${tables.broadcasts}
         (message, status, created_at, recipient_count, sent_count, failed_count, version, epoch_counter, fresh_cursor)
       VALUES ('v3', 'sending', now(), 4, 1, 0, 5, 2, 3)`,
    );
    await testPool().query(
      `INSERT INTO ${tables.recipients}
         (broadcast_id, seq, recipient_id, chat_id, state, attempts, message_id, fresh, lease_owner, lease_epoch, lease_expires_at)
       VALUES (1, 0, '1', 11, 'sent', 1, '500', true, NULL, NULL, NULL),
              (1, 1, '2', 12, 'pending', 0, NULL, true, 'old-worker', 2, $1),
              (1, 2, '3', 13, 'pending', 0, NULL, true, 'old-worker', 2, $1),
              (1, 3, '4', 14, 'pending', 0, NULL, true, NULL, NULL, NULL)`,
      [new Date(5000)],
    );
    await testPool().query(
      `INSERT INTO ${tables.freshLeases} (broadcast_id, epoch, first_seq, last_seq, expires_at)
       VALUES (1, 2, 1, 2, $1)`,
      [new Date(5000)],
    );

    const store = createPostgresStore({ pool: testPool(), schema });
    expect(await store.migrate()).toEqual(ALL_VERSIONS.filter((version) => version > 3));
    expect(await store.getBroadcast(1)).toMatchObject({
      totalRecipients: 4,
      sentCount: 1,
      failedCount: 0,
      version: 5,
    });
    // The old worker still holds its range: it records one recipient and renews the other.
    const recorded = await store.recordOutcomes({
      broadcastId: 1,
      epoch: 2,
      outcomes: [{ type: "delivered", recipientId: 2, attempts: 1, messageId: 501 }],
      now: new Date(1000),
      errorLogLimit: 10,
    });
    expect(recorded).toMatchObject({ type: "recorded", broadcast: { sentCount: 2, version: 6 } });
    expect(
      await store.renewLease({
        broadcastId: 1,
        epoch: 2,
        recipientIds: [3],
        now: new Date(1000),
        leaseMs: 1000,
      }),
    ).toEqual({ lost: [] });
    const claim = (now: number) =>
      store.claimRecipients(claimRequest(1, { owner: "new-worker", now: new Date(now), leaseMs: 60_000 }));
    const first = await claim(2000);
    expect(first.recipients).toEqual([expect.objectContaining({ recipientId: 4, takenOver: false })]);
    expect(first.epoch).toBeGreaterThan(2);
    expect(await claim(4999)).toMatchObject({ recipients: [], retryAt: new Date(5000) });
    const taken = await claim(5000);
    expect(taken.recipients).toEqual([expect.objectContaining({ recipientId: 3, takenOver: true })]);
  });

  it("run on first use by default, and never with migrate: false until migrate() is called", async () => {
    const schema = schemaForTest();
    const store = createPostgresStore({ pool: testPool(), schema, migrate: false });
    await expect(store.getBroadcast(1)).rejects.toThrow(/does not exist/);
    expect(await tablesIn(schema)).toEqual([]);
    await store.migrate();
    expect(await store.getBroadcast(1)).toBeNull();

    const other = schemaForTest();
    expect(await createPostgresStore({ pool: testPool(), schema: other }).getBroadcast(1)).toBeNull();
    expect(await tablesIn(other)).toEqual([
      "broadcast_counters",
      "broadcast_fresh_leases",
      "broadcast_recipients",
      "broadcast_webhook_deliveries",
      "broadcast_webhook_endpoints",
      "broadcast_webhook_events",
      "broadcastkit_schema_migrations",
      "broadcasts",
    ]);
  });

  it("are applied once when several processes start on a new schema at the same time", async () => {
    const schema = schemaForTest();
    const stores = Array.from({ length: 4 }, () =>
      createPostgresStore({ connectionString: DATABASE_URL, schema, poolSize: 1 }),
    );
    try {
      const applied = await Promise.all(stores.map((store) => store.migrate()));
      expect(applied.filter((versions) => versions.length > 0)).toEqual([ALL_VERSIONS]);
      const recorded = await testPool().query(
        `SELECT version FROM "${schema}".broadcastkit_schema_migrations ORDER BY version`,
      );
      expect(recorded.rows).toEqual(ALL_VERSIONS.map((version) => ({ version })));
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  describe("adopting the seed's pre-0010 broadcasts table", () => {
    it("keeps every row intact, with an empty error log and no per-error counts", async () => {
      const schema = schemaForTest();
      await fillLegacy(schema);
      const store = createPostgresStore({ pool: testPool(), schema });
      expect(await store.migrate()).toEqual(ALL_VERSIONS);

      for (const [index, row] of LEGACY_ROWS.entries()) {
        const [createdBy, message, status, total, sent, failed, createdAt, scheduledAt, sentAt, completedAt] =
          row;
        expect(await store.getBroadcast(index + 1)).toEqual({
          id: index + 1,
          status,
          message: { text: message },
          createdBy,
          errorThreshold: null,
          totalRecipients: total,
          sentCount: sent,
          failedCount: failed,
          errorCounts: {},
          errorLog: [],
          pauseReason: null,
          createdAt: date(createdAt),
          scheduledAt: date(scheduledAt),
          sentAt: date(sentAt),
          completedAt: date(completedAt),
          version: 1,
        });
      }
      const raw = await testPool().query(`SELECT DISTINCT error_log FROM "${schema}".broadcasts`);
      expect(raw.rows).toEqual([{ error_log: [] }]);
      expect(progressOf((await store.getBroadcast(2))!)).toMatchObject({ pendingCount: 10, progressPct: 90 });
    });

    it("goes on issuing ids after the adopted ones, and lets new broadcasts have no creator", async () => {
      const schema = schemaForTest();
      await fillLegacy(schema);
      const store = createPostgresStore({ pool: testPool(), schema });
      const created = await store.createBroadcast(
        {
          message: { text: "new" },
          status: "draft",
          scheduledAt: null,
          createdBy: null,
          errorThreshold: null,
          createdAt: new Date(0),
        },
        [{ recipientId: 1, chatId: 1 }],
      );
      expect(created).toMatchObject({ id: 5, createdBy: null, totalRecipients: 1 });
      const page = await store.listBroadcasts({ limit: 10 });
      expect(page.items.map((b) => b.id)).toEqual([5, 4, 3, 2, 1]);
    });

    it("reads times stored without a zone as UTC", async () => {
      const schema = schemaForTest();
      await fillLegacy(schema, "timestamp without time zone");
      const store = createPostgresStore({ pool: testPool(), schema });
      expect(await store.getBroadcast(1)).toMatchObject({
        createdAt: new Date("2024-12-27T10:00:00.123Z"),
        completedAt: new Date("2024-12-27T10:05:00Z"),
      });
    });

    it("refuses a broadcasts table that is neither its own nor the seed's, and leaves it alone", async () => {
      const schema = schemaForTest();
      await testPool().query(
        `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".broadcasts (name text);
         INSERT INTO "${schema}".broadcasts VALUES ('mine');`,
      );
      const store = createPostgresStore({ pool: testPool(), schema });
      await expect(store.getBroadcast(1)).rejects.toThrow(/refusing to change it/);
      expect((await testPool().query(`SELECT * FROM "${schema}".broadcasts`)).rows).toEqual([
        { name: "mine" },
      ]);
      expect(await tablesIn(schema)).toEqual(["broadcasts"]);
    });
  });
});
