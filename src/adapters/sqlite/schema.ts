import type { Database } from "better-sqlite3";

/**
 * `due_at` of a recipient that may be claimed at once. Claims read one index range
 * (`due_at <= now`), so "now" must never be earlier than this.
 */
export const ALWAYS_DUE = Number.MIN_SAFE_INTEGER;

export const MIGRATIONS_TABLE = "broadcastkit_schema_migrations";

/**
 * The broadcasts table. Its first columns are the seed's (Django's `Broadcast` model before
 * migration 0010), so an existing table of that shape can be adopted; the rest are this library's.
 * Times are milliseconds since the epoch; `created_by`, `error_counts`, `error_log` and
 * `pause_reason` hold JSON text.
 */
const CREATE_BROADCASTS = `
CREATE TABLE broadcasts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_by TEXT,
  message TEXT NOT NULL,
  status TEXT NOT NULL,
  recipient_count INTEGER NOT NULL DEFAULT 0,
  sent_count INTEGER NOT NULL DEFAULT 0,
  failed_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  scheduled_at INTEGER,
  sent_at INTEGER,
  completed_at INTEGER,
  parse_mode TEXT,
  error_threshold INTEGER,
  error_counts TEXT NOT NULL DEFAULT '{}',
  error_log TEXT NOT NULL DEFAULT '[]',
  pause_reason TEXT,
  version INTEGER NOT NULL DEFAULT 1,
  epoch_counter INTEGER NOT NULL DEFAULT 0
)`;

/** The columns a legacy table must have for migration 1 to adopt it. */
const LEGACY_REQUIRED = [
  "id",
  "message",
  "status",
  "recipient_count",
  "sent_count",
  "failed_count",
  "created_at",
];

/** A legacy time (Django keeps text such as `2024-12-27 10:30:00.123456`) as epoch milliseconds. */
const legacyTime = (column: string) => `CASE typeof(${column})
    WHEN 'integer' THEN ${column}
    WHEN 'real' THEN CAST(${column} AS INTEGER)
    WHEN 'text' THEN CAST(round((julianday(${column}) - 2440587.5) * 86400000.0) AS INTEGER)
    ELSE NULL END`;

/** A legacy creator (a user id, or a name) as JSON text. */
const legacyCreator = (column: string) => `CASE typeof(${column})
    WHEN 'integer' THEN CAST(${column} AS TEXT)
    WHEN 'real' THEN CAST(CAST(${column} AS INTEGER) AS TEXT)
    WHEN 'text' THEN json_quote(${column})
    ELSE NULL END`;

function columnsOf(db: Database, table: string): Set<string> {
  const rows = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

/**
 * Migration 1: the broadcasts table, created, or adopted from the seed's pre-0010 shape.
 *
 * - No `broadcasts` table: it is created.
 * - A `broadcasts` table with `epoch_counter`: it is already this library's; nothing to do.
 * - A `broadcasts` table with the seed's columns (`id`, `message`, `status`, `recipient_count`,
 *   `sent_count`, `failed_count`, `created_at`, optionally `created_by`, `scheduled_at`, `sent_at`,
 *   `completed_at`, `error_log`): SQLite cannot change a column's type in place, so the table is
 *   rebuilt the way SQLite documents (create the new shape, copy every row, drop the old table,
 *   rename) in the migration's transaction. Ids are kept, so later ids continue after them; text
 *   times become epoch milliseconds; a numeric creator stays a number; `error_log` becomes `[]`
 *   unless the table already had one; counters stay exactly as they were.
 * - Any other `broadcasts` table: refused, so a host's unrelated table is never touched.
 */
function createOrAdoptBroadcasts(db: Database): void {
  const existing = columnsOf(db, "broadcasts");
  if (existing.size === 0) {
    db.exec(CREATE_BROADCASTS);
    return;
  }
  if (existing.has("epoch_counter")) return;
  const missing = LEGACY_REQUIRED.filter((c) => !existing.has(c));
  if (missing.length > 0) {
    throw new Error(
      `broadcastkit: a "broadcasts" table exists but is neither broadcastkit's nor the seed's (missing ${missing.join(", ")}); refusing to change it`,
    );
  }
  const optional = (column: string, expression: (c: string) => string) =>
    existing.has(column) ? expression(column) : "NULL";
  // Django declares foreign keys DEFERRABLE INITIALLY DEFERRED: children of the old table are
  // checked at commit, when the rebuilt table holds the same ids again.
  db.pragma("defer_foreign_keys = ON");
  db.exec(CREATE_BROADCASTS.replace("CREATE TABLE broadcasts", "CREATE TABLE broadcastkit_broadcasts_new"));
  db.exec(`
    INSERT INTO broadcastkit_broadcasts_new
      (id, created_by, message, status, recipient_count, sent_count, failed_count,
       created_at, scheduled_at, sent_at, completed_at, error_log)
    SELECT id, ${optional("created_by", legacyCreator)}, message, status,
      COALESCE(recipient_count, 0), COALESCE(sent_count, 0), COALESCE(failed_count, 0),
      COALESCE(${legacyTime("created_at")}, 0),
      ${optional("scheduled_at", legacyTime)}, ${optional("sent_at", legacyTime)},
      ${optional("completed_at", legacyTime)},
      ${existing.has("error_log") ? "CASE WHEN json_valid(error_log) THEN error_log ELSE '[]' END" : "'[]'"}
    FROM broadcasts`);
  db.exec("DROP TABLE broadcasts");
  db.exec("ALTER TABLE broadcastkit_broadcasts_new RENAME TO broadcasts");
}

function createBroadcastIndexes(db: Database): void {
  db.exec(`
    CREATE INDEX IF NOT EXISTS broadcasts_status_id ON broadcasts (status, id);
    CREATE INDEX IF NOT EXISTS broadcasts_due ON broadcasts (scheduled_at, id) WHERE status = 'scheduled';
  `);
}

/**
 * Migration 2: the recipients. One row per recipient, keyed by its insertion position (`seq`).
 * `recipient_id` and `message_id` hold JSON text (so `1` and `"1"` differ); a chat is `chat_id`
 * (numeric) or `chat_username` (`@channel`). `due_at` is when a pending recipient may be claimed
 * (its retry time, or ALWAYS_DUE), so a claim reads one index range; a live lease
 * (`lease_expires_at` in the future) keeps it from being claimed until then. Version 2 wrote a
 * lease's expiry into `due_at` too; such a row waits for the same instant either way.
 */
function createRecipients(db: Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS broadcast_recipients (
      broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      recipient_id TEXT NOT NULL,
      chat_id INTEGER,
      chat_username TEXT,
      variables TEXT,
      state TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      last_error_kind TEXT,
      next_attempt_at INTEGER,
      due_at INTEGER NOT NULL DEFAULT (${ALWAYS_DUE}),
      lease_owner TEXT,
      lease_epoch INTEGER,
      lease_expires_at INTEGER,
      lease_taken_over INTEGER NOT NULL DEFAULT 0,
      message_id TEXT,
      PRIMARY KEY (broadcast_id, seq)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX IF NOT EXISTS broadcast_recipients_recipient
      ON broadcast_recipients (broadcast_id, recipient_id);
    CREATE INDEX IF NOT EXISTS broadcast_recipients_claim
      ON broadcast_recipients (broadcast_id, due_at, seq) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS broadcast_recipients_done
      ON broadcast_recipients (broadcast_id, state, seq) WHERE state <> 'pending';
  `);
}

/**
 * Migration 3: indexes for the hot path.
 *
 * - The index of settled recipients covers only the failed ones: indexing every sent recipient
 *   cost an index write per delivery to serve listings that read most rows anyway.
 * - Recipients that were never handed out (`fresh = 1`) stay out of the claim index: a claim takes
 *   them in insertion order from the broadcast's `fresh_cursor`, by primary key, and records the
 *   range it leased in `broadcast_fresh_leases` so that an expired one is found again. A recipient
 *   enters the claim index (`fresh = 0`) only when it has to wait or be retried: released, retried,
 *   reset by a manual retry, or left behind by an expired lease. A first delivery then writes no
 *   index at all. Rows and broadcasts older than this migration keep their place in the claim index
 *   (`fresh = 0`, and a cursor past their last recipient).
 */
function hotPathIndexes(db: Database): void {
  db.exec(`
    DROP INDEX IF EXISTS broadcast_recipients_done;
    CREATE INDEX IF NOT EXISTS broadcast_recipients_failed
      ON broadcast_recipients (broadcast_id, seq) WHERE state = 'failed';
    ALTER TABLE broadcast_recipients ADD COLUMN fresh INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE broadcasts ADD COLUMN fresh_cursor INTEGER NOT NULL DEFAULT 0;
    UPDATE broadcasts SET fresh_cursor = recipient_count;
    DROP INDEX IF EXISTS broadcast_recipients_claim;
    CREATE INDEX broadcast_recipients_claim
      ON broadcast_recipients (broadcast_id, due_at, seq) WHERE state = 'pending' AND fresh = 0;
    CREATE TABLE broadcast_fresh_leases (
      broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
      epoch INTEGER NOT NULL,
      first_seq INTEGER NOT NULL,
      last_seq INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      PRIMARY KEY (broadcast_id, epoch)
    ) WITHOUT ROWID;
  `);
}

/**
 * Migration 5: the webhook outbox. `broadcast_webhook_events` is the journal of status changes
 * (written in the transaction of the change); `broadcast_webhook_endpoints` remembers how far each
 * endpoint has turned the journal into deliveries and its last lease epoch; each
 * `broadcast_webhook_deliveries` row is one event on its way to one endpoint, and its log.
 * `due_at` is when a pending delivery is due (its event's time, then its next attempt), so a claim
 * reads one index range in due order. Times are epoch milliseconds. (Version 4 is the hot path's.)
 */
function webhookOutbox(db: Database): void {
  db.exec(`
    CREATE TABLE broadcast_webhook_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      type TEXT NOT NULL,
      broadcast_id INTEGER NOT NULL,
      previous_status TEXT NOT NULL,
      status TEXT NOT NULL,
      occurred_at INTEGER NOT NULL,
      total_recipients INTEGER NOT NULL,
      sent_count INTEGER NOT NULL,
      failed_count INTEGER NOT NULL
    );
    CREATE INDEX broadcast_webhook_events_time ON broadcast_webhook_events (occurred_at);
    CREATE TABLE broadcast_webhook_endpoints (
      endpoint_id TEXT PRIMARY KEY,
      seen_up_to INTEGER NOT NULL,
      last_epoch INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE TABLE broadcast_webhook_deliveries (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      endpoint_id TEXT NOT NULL,
      event_id INTEGER NOT NULL REFERENCES broadcast_webhook_events (id),
      broadcast_id INTEGER NOT NULL,
      state TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      due_at INTEGER NOT NULL,
      next_attempt_at INTEGER,
      last_attempt_at INTEGER,
      last_error TEXT,
      last_status_code INTEGER,
      delivered_at INTEGER,
      lease_epoch INTEGER,
      lease_owner TEXT,
      lease_expires_at INTEGER
    );
    CREATE UNIQUE INDEX broadcast_webhook_deliveries_event
      ON broadcast_webhook_deliveries (endpoint_id, event_id);
    CREATE INDEX broadcast_webhook_deliveries_due
      ON broadcast_webhook_deliveries (endpoint_id, due_at, id) WHERE state = 'pending';
    CREATE INDEX broadcast_webhook_deliveries_broadcast
      ON broadcast_webhook_deliveries (broadcast_id, id);
  `);
}

/**
 * Migration 4: one write per first delivery. A range of fresh recipients is leased by its row in
 * `broadcast_fresh_leases` alone (with the claim's owner, for diagnostics): the recipients' lease
 * columns stay empty until the range expires and is handed back, so a first delivery writes its
 * recipient row once. Ranges noted by version 3 also wrote the lease onto their recipients: those
 * columns are cleared here, the range holding the same lease.
 */
function freshRangesHoldTheirLease(db: Database): void {
  db.exec(`
    ALTER TABLE broadcast_fresh_leases ADD COLUMN owner TEXT;
    UPDATE broadcast_fresh_leases SET owner = (
      SELECT r.lease_owner FROM broadcast_recipients AS r
      WHERE r.broadcast_id = broadcast_fresh_leases.broadcast_id AND r.seq = broadcast_fresh_leases.first_seq
        AND r.lease_epoch = broadcast_fresh_leases.epoch);
    UPDATE broadcast_recipients
    SET lease_epoch = NULL, lease_owner = NULL, lease_expires_at = NULL, lease_taken_over = 0
    WHERE fresh = 1 AND state = 'pending' AND lease_epoch IS NOT NULL AND EXISTS (
      SELECT 1 FROM broadcast_fresh_leases AS l
      WHERE l.broadcast_id = broadcast_recipients.broadcast_id AND l.epoch = broadcast_recipients.lease_epoch
        AND broadcast_recipients.seq BETWEEN l.first_seq AND l.last_seq);
  `);
}

export interface SqliteMigration {
  readonly version: number;
  readonly name: string;
  readonly up: (db: Database) => void;
}

/** Forward only: a released migration never changes; a new change is a new version. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: "broadcasts (create, or adopt the seed's table)",
    up: (db) => {
      createOrAdoptBroadcasts(db);
      createBroadcastIndexes(db);
    },
  },
  { version: 2, name: "broadcast_recipients", up: createRecipients },
  {
    version: 3,
    name: "hot-path indexes: failed recipients only, fresh recipients by cursor",
    up: hotPathIndexes,
  },
  {
    version: 4,
    name: "one write per first delivery: fresh ranges hold their lease",
    up: freshRangesHoldTheirLease,
  },
  { version: 5, name: "webhook outbox: status-change journal, endpoints, deliveries", up: webhookOutbox },
];

/**
 * Applies the pending migrations in one `BEGIN IMMEDIATE` transaction: a second process starting
 * at the same time waits for the write lock (the busy timeout), then finds them applied.
 * Returns the versions this call applied.
 */
export function migrateSqlite(db: Database): number[] {
  const run = db.transaction((): number[] => {
    db.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    )`);
    const rows = db.prepare(`SELECT version FROM ${MIGRATIONS_TABLE}`).all() as { version: number }[];
    const applied = new Set(rows.map((r) => r.version));
    const record = db.prepare(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`);
    const done: number[] = [];
    for (const migration of SQLITE_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      migration.up(db);
      record.run(migration.version, migration.name, Date.now());
      done.push(migration.version);
    }
    return done;
  });
  return run.immediate();
}
