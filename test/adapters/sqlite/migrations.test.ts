import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { progressOf } from "broadcastkit";
import { createSqliteStore, SQLITE_MIGRATIONS } from "broadcastkit/sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { claimRequest } from "../../../src/testing/conformance/fixtures.js";

const run = promisify(execFile);
const directory = mkdtempSync(join(tmpdir(), "bk-sqlite-migrations-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshFile = () => join(directory, `db-${++files}.sqlite`);

const ALL_VERSIONS = SQLITE_MIGRATIONS.map((m) => m.version);

const tables = (db: Database.Database): string[] =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  )
    .map((r) => r.name)
    .filter((name) => name !== "sqlite_sequence");

/** The seed's table before its migration 0010, as Django creates it on SQLite. */
const LEGACY_TABLE = `
  CREATE TABLE broadcasts (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    created_by integer NULL,
    message text NOT NULL,
    status varchar(20) NOT NULL,
    recipient_count integer NOT NULL,
    sent_count integer NOT NULL,
    failed_count integer NOT NULL,
    created_at datetime NOT NULL,
    scheduled_at datetime NULL,
    sent_at datetime NULL,
    completed_at datetime NULL
  )`;

const LEGACY_ROWS = [
  [
    1,
    7,
    "Welcome!",
    "sent",
    500,
    500,
    0,
    "2024-12-27 10:00:00.123456",
    null,
    "2024-12-27 10:01:00",
    "2024-12-27 10:05:00",
  ],
  [
    2,
    7,
    "Promo <b>50%</b>",
    "sending",
    500,
    450,
    40,
    "2024-12-27 11:00:00",
    null,
    "2024-12-27 11:00:30",
    null,
  ],
  [
    3,
    null,
    "'; DROP TABLE broadcasts; --",
    "cancelled",
    10,
    0,
    0,
    "2024-12-26 09:00:00",
    null,
    null,
    "2024-12-26 09:30:00",
  ],
  [5, 9, "Later", "scheduled", 3, 0, 0, "2024-12-27 12:00:00", "2025-01-01 00:00:00", null, null],
] as const;

/** A database as version 2 of this library left it. */
function atVersion2(): Database.Database {
  return atVersion(2);
}

/** A database as this library's migrations up to `version` left it. */
function atVersion(version: number): Database.Database {
  const db = new Database(":memory:");
  db.exec(`CREATE TABLE broadcastkit_schema_migrations
    (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= version)) {
    migration.up(db);
    db.prepare("INSERT INTO broadcastkit_schema_migrations VALUES (?, ?, 0)").run(
      migration.version,
      migration.name,
    );
  }
  return db;
}

describe("SQLite migrations", () => {
  it("apply every version once; migrating again applies nothing and keeps the data", async () => {
    const store = createSqliteStore({ filename: freshFile() });
    expect(await store.migrate()).toEqual(ALL_VERSIONS);
    const created = await store.createBroadcast(
      {
        message: { text: "kept" },
        status: "draft",
        scheduledAt: null,
        createdBy: null,
        errorThreshold: null,
        createdAt: new Date(0),
      },
      [{ recipientId: 1, chatId: 1 }],
    );
    expect(await store.migrate()).toEqual([]);
    expect(await store.getBroadcast(created.id)).toEqual(created);
    await store.close();
  });

  it("carry a database of an earlier version forward: version 3 indexes only the failed recipients", async () => {
    const db = atVersion2();
    const indexes = () =>
      (
        db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'broadcast_recipients'",
          )
          .all() as { name: string }[]
      ).map((r) => r.name);
    expect(indexes()).toContain("broadcast_recipients_done");
    db.prepare("INSERT INTO broadcasts (message, status, created_at) VALUES ('old', 'sending', 0)").run();
    db.prepare(
      `INSERT INTO broadcast_recipients (broadcast_id, seq, recipient_id, chat_id, state, last_error)
       VALUES (1, 0, '1', 11, 'failed', 'chat not found'), (1, 1, '2', 12, 'sent', NULL)`,
    ).run();

    const store = createSqliteStore({ db });
    expect(await store.migrate()).toEqual(ALL_VERSIONS.filter((version) => version > 2));
    expect(indexes()).not.toContain("broadcast_recipients_done");
    expect(indexes()).toContain("broadcast_recipients_failed");
    const plan = db
      .prepare(
        "EXPLAIN QUERY PLAN SELECT * FROM broadcast_recipients INDEXED BY broadcast_recipients_failed WHERE broadcast_id = 1 AND state = 'failed' AND seq > -1 ORDER BY seq",
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(" ")).toContain("broadcast_recipients_failed");
    const failedPage = await store.listRecipients(1, { limit: 10, status: "failed" });
    expect(failedPage?.items.map((r) => [r.recipientId, r.lastError])).toEqual([[1, "chat not found"]]);
    const sentPage = await store.listRecipients(1, { limit: 10, status: "sent" });
    expect(sentPage?.items.map((r) => r.recipientId)).toEqual([2]);
  });

  it("carry a database of version 3 forward: the webhook outbox starts empty and journals the next status change", async () => {
    const db = atVersion(3);
    db.prepare(
      "INSERT INTO broadcasts (message, status, created_at, recipient_count) VALUES ('old', 'sending', 0, 0)",
    ).run();
    const store = createSqliteStore({ db });
    expect(await store.migrate()).toEqual(ALL_VERSIONS.filter((version) => version > 3));
    expect(await store.listWebhookDeliveries({ limit: 10 })).toEqual({ items: [], nextCursor: null });
    const claim = () =>
      store.claimWebhookDeliveries({
        endpointId: "hooks",
        events: ["broadcast.paused"],
        since: new Date(0),
        owner: "test",
        limit: 10,
        now: new Date(10_000),
        leaseMs: 1000,
      });
    expect((await claim()).deliveries).toEqual([]);
    await store.updateBroadcast(1, "sending", { status: "paused" }, new Date(5000));
    expect((await claim()).deliveries.map((d) => [d.event.broadcastId, d.event.type])).toEqual([
      [1, "broadcast.paused"],
    ]);
  });

  it("honour a lease written by version 2 (its expiry also in due_at) until it expires", async () => {
    const db = atVersion2();
    db.prepare(
      "INSERT INTO broadcasts (message, status, created_at, recipient_count, epoch_counter) VALUES ('old', 'sending', 0, 2, 1)",
    ).run();
    db.prepare(
      `INSERT INTO broadcast_recipients
         (broadcast_id, seq, recipient_id, chat_id, due_at, lease_owner, lease_epoch, lease_expires_at)
       VALUES (1, 0, '1', 11, 5000, 'old-worker', 1, 5000)`,
    ).run();
    db.prepare(
      "INSERT INTO broadcast_recipients (broadcast_id, seq, recipient_id, chat_id, state) VALUES (1, 1, '2', 12, 'sent')",
    ).run();
    const store = createSqliteStore({ db });
    expect(await store.migrate()).toEqual(ALL_VERSIONS.filter((version) => version > 2));
    const claim = (now: number) =>
      store.claimRecipients(claimRequest(1, { owner: "new-worker", now: new Date(now), leaseMs: 1000 }));
    expect(await claim(4999)).toMatchObject({ recipients: [], retryAt: new Date(5000) });
    const taken = await claim(5000);
    expect(taken.recipients).toEqual([expect.objectContaining({ recipientId: 1, takenOver: true })]);
    expect(taken.epoch).toBeGreaterThan(1);
  });

  it("carry a database of version 3 forward: counters, version and a fresh range's lease kept", async () => {
    const db = atVersion(3);
    // As version 3 left a broadcast mid-send: one recipient sent, a fresh range (epoch 2) leased
    // to a worker with the lease also written on its rows, one recipient never handed out.
    db.prepare(
      `INSERT INTO broadcasts (message, status, created_at, recipient_count, sent_count, version, epoch_counter, fresh_cursor)
       VALUES ('v3', 'sending', 0, 4, 1, 5, 2, 3)`,
    ).run();
    db.prepare(
      `INSERT INTO broadcast_recipients
         (broadcast_id, seq, recipient_id, chat_id, state, attempts, message_id, fresh, lease_owner, lease_epoch, lease_expires_at)
       VALUES (1, 0, '1', 11, 'sent', 1, '500', 1, NULL, NULL, NULL),
              (1, 1, '2', 12, 'pending', 0, NULL, 1, 'old-worker', 2, 5000),
              (1, 2, '3', 13, 'pending', 0, NULL, 1, 'old-worker', 2, 5000),
              (1, 3, '4', 14, 'pending', 0, NULL, 1, NULL, NULL, NULL)`,
    ).run();
    db.prepare(
      "INSERT INTO broadcast_fresh_leases (broadcast_id, epoch, first_seq, last_seq, expires_at) VALUES (1, 2, 1, 2, 5000)",
    ).run();

    const store = createSqliteStore({ db });
    expect(await store.migrate()).toEqual(ALL_VERSIONS.filter((version) => version > 3));
    expect(await store.getBroadcast(1)).toMatchObject({ totalRecipients: 4, sentCount: 1, version: 5 });
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
    const db = new Database(":memory:");
    const store = createSqliteStore({ db, migrate: false });
    await expect(store.getBroadcast(1)).rejects.toThrow(/no such table/);
    expect(tables(db)).toEqual([]);
    expect(await store.migrate()).toEqual(ALL_VERSIONS);
    expect(await store.getBroadcast(1)).toBeNull();
    expect(tables(db)).toEqual([
      "broadcast_fresh_leases",
      "broadcast_recipients",
      "broadcast_webhook_deliveries",
      "broadcast_webhook_endpoints",
      "broadcast_webhook_events",
      "broadcastkit_schema_migrations",
      "broadcasts",
    ]);

    const other = new Database(":memory:");
    expect(await createSqliteStore({ db: other }).getBroadcast(1)).toBeNull();
    expect(tables(other)).toContain("broadcast_recipients");
  });

  it("are applied once when several processes open a new file at the same time", async () => {
    const filename = freshFile();
    const script = fileURLToPath(new URL("./fixtures/migrate-file.ts", import.meta.url));
    const outputs = await Promise.all(
      Array.from({ length: 3 }, () => run(process.execPath, ["--import", "tsx", script, filename])),
    );
    const applied = outputs.map((o) => JSON.parse(o.stdout) as number[]);
    expect(applied.filter((versions) => versions.length > 0)).toEqual([ALL_VERSIONS]);
    const db = new Database(filename, { readonly: true });
    const rows = db.prepare("SELECT version FROM broadcastkit_schema_migrations ORDER BY version").all();
    expect(rows).toEqual(ALL_VERSIONS.map((version) => ({ version })));
    expect(db.prepare("SELECT count(*) AS n FROM broadcasts").get()).toEqual({ n: 3 });
    db.close();
  }, 60_000);

  describe("adopting the seed's pre-0010 broadcasts table", () => {
    function legacyDatabase(): Database.Database {
      const db = new Database(":memory:");
      db.exec(LEGACY_TABLE);
      const insert = db.prepare("INSERT INTO broadcasts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      for (const row of LEGACY_ROWS) insert.run(...row);
      return db;
    }

    it("keeps every row intact, with an empty error log and no per-error counts", async () => {
      const db = legacyDatabase();
      const store = createSqliteStore({ db });
      expect(await store.migrate()).toEqual(ALL_VERSIONS);

      const utc = (text: string) => new Date(`${text.replace(" ", "T")}Z`);
      for (const [
        id,
        createdBy,
        message,
        status,
        total,
        sent,
        failed,
        createdAt,
        scheduledAt,
        sentAt,
        completedAt,
      ] of LEGACY_ROWS) {
        expect(await store.getBroadcast(id)).toEqual({
          id,
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
          createdAt: utc(createdAt),
          scheduledAt: scheduledAt === null ? null : utc(scheduledAt),
          sentAt: sentAt === null ? null : utc(sentAt),
          completedAt: completedAt === null ? null : utc(completedAt),
          version: 1,
        });
      }
      const raw = db.prepare("SELECT DISTINCT error_log FROM broadcasts").all();
      expect(raw).toEqual([{ error_log: "[]" }]);
      expect(progressOf((await store.getBroadcast(2))!)).toMatchObject({
        pendingCount: 10,
        progressPct: 90,
        errorSummary: "40 failed",
      });
    });

    it("goes on issuing ids after the adopted ones and lists old and new together", async () => {
      const store = createSqliteStore({ db: legacyDatabase() });
      const created = await store.createBroadcast(
        {
          message: { text: "new" },
          status: "draft",
          scheduledAt: null,
          createdBy: "admin",
          errorThreshold: null,
          createdAt: new Date(0),
        },
        [{ recipientId: "u-1", chatId: "@channel_name" }],
      );
      expect(created.id).toBe(6);
      const page = await store.listBroadcasts({ limit: 10 });
      expect(page.items.map((b) => b.id)).toEqual([6, 5, 3, 2, 1]);
      expect(await store.migrate()).toEqual([]);
    });

    it("refuses a broadcasts table that is neither its own nor the seed's, and leaves it alone", async () => {
      const db = new Database(":memory:");
      db.exec("CREATE TABLE broadcasts (name TEXT); INSERT INTO broadcasts VALUES ('mine');");
      const store = createSqliteStore({ db });
      await expect(store.getBroadcast(1)).rejects.toThrow(/refusing to change it/);
      expect(db.prepare("SELECT * FROM broadcasts").all()).toEqual([{ name: "mine" }]);
      expect(tables(db)).toEqual(["broadcasts"]);
    });
  });
});
