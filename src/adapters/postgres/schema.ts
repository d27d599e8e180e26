import type { PoolClient } from "pg";

/** Fully qualified, quoted table names in the store's schema. */
export interface TableNames {
  readonly schema: string;
  readonly quotedSchema: string;
  readonly broadcasts: string;
  readonly recipients: string;
  readonly freshLeases: string;
  readonly counters: string;
  readonly migrations: string;
  readonly webhookEvents: string;
  readonly webhookEndpoints: string;
  readonly webhookDeliveries: string;
}

export const quoteIdentifier = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export function tableNames(schema: string): TableNames {
  const quotedSchema = quoteIdentifier(schema);
  return {
    schema,
    quotedSchema,
    broadcasts: `${quotedSchema}.broadcasts`,
    recipients: `${quotedSchema}.broadcast_recipients`,
    freshLeases: `${quotedSchema}.broadcast_fresh_leases`,
    counters: `${quotedSchema}.broadcast_counters`,
    migrations: `${quotedSchema}.broadcastkit_schema_migrations`,
    webhookEvents: `${quotedSchema}.broadcast_webhook_events`,
    webhookEndpoints: `${quotedSchema}.broadcast_webhook_endpoints`,
    webhookDeliveries: `${quotedSchema}.broadcast_webhook_deliveries`,
  };
}

/**
 * The broadcasts table. Its first columns are the seed's (Django's `Broadcast` model before
 * migration 0010), so an existing table of that shape can be adopted in place; the rest are this
 * library's. `created_by` is `jsonb` so a user id (42) and a name ("42") stay apart.
 */
const createBroadcasts = (t: TableNames) => `
CREATE TABLE ${t.broadcasts} (
  id BIGSERIAL PRIMARY KEY,
  created_by JSONB,
  message TEXT NOT NULL,
  status VARCHAR(20) NOT NULL,
  recipient_count INTEGER NOT NULL DEFAULT 0,
  sent_count INTEGER NOT NULL DEFAULT 0,
  failed_count INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL,
  scheduled_at TIMESTAMPTZ,
  sent_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ,
  parse_mode VARCHAR(16),
  error_threshold INTEGER,
  error_counts JSONB NOT NULL DEFAULT '{}'::jsonb,
  error_log JSONB NOT NULL DEFAULT '[]'::jsonb,
  pause_reason JSONB,
  version BIGINT NOT NULL DEFAULT 1,
  epoch_counter BIGINT NOT NULL DEFAULT 0
)`;

/** Columns this library adds to an adopted table; every one has a default or allows NULL. */
const ADDED_COLUMNS: readonly [string, string][] = [
  ["created_by", "JSONB"],
  ["scheduled_at", "TIMESTAMPTZ"],
  ["sent_at", "TIMESTAMPTZ"],
  ["completed_at", "TIMESTAMPTZ"],
  ["parse_mode", "VARCHAR(16)"],
  ["error_threshold", "INTEGER"],
  ["error_counts", "JSONB NOT NULL DEFAULT '{}'::jsonb"],
  ["error_log", "JSONB NOT NULL DEFAULT '[]'::jsonb"],
  ["pause_reason", "JSONB"],
  ["version", "BIGINT NOT NULL DEFAULT 1"],
  ["epoch_counter", "BIGINT NOT NULL DEFAULT 0"],
];

const LEGACY_REQUIRED = [
  "id",
  "message",
  "status",
  "recipient_count",
  "sent_count",
  "failed_count",
  "created_at",
];

const TIME_COLUMNS = ["created_at", "scheduled_at", "sent_at", "completed_at"];

/**
 * Migration 1: the broadcasts table, created, or adopted from the seed's pre-0010 shape.
 *
 * - No `broadcasts` table in the schema: it is created.
 * - A `broadcasts` table with `epoch_counter`: it is already this library's.
 * - A `broadcasts` table with the seed's columns (`id`, `message`, `status`, `recipient_count`,
 *   `sent_count`, `failed_count`, `created_at`): adopted in place, every row kept. Missing columns
 *   are added with their defaults (so `error_log` is `[]` and `error_counts` `{}` on old rows, the
 *   seed's "backward compatible" promise); a non-`jsonb` `created_by` (a user id) becomes `jsonb`
 *   (`42` stays the number 42) and may be NULL; times without a zone are read as UTC.
 * - Any other `broadcasts` table: refused, so a host's unrelated table is never touched.
 */
async function createOrAdoptBroadcasts(client: PoolClient, t: TableNames): Promise<void> {
  // pg_attribute rather than information_schema.columns: the same answer, several times faster.
  const found = await client.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, NULL) AS type FROM pg_attribute
     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [t.broadcasts],
  );
  const types = new Map(found.rows.map((r) => [r.name, r.type]));
  if (types.size === 0) {
    await client.query(createBroadcasts(t));
    return;
  }
  if (types.has("epoch_counter")) return;
  const missing = LEGACY_REQUIRED.filter((c) => !types.has(c));
  if (missing.length > 0) {
    throw new Error(
      `broadcastkit: ${t.broadcasts} exists but is neither broadcastkit's nor the seed's (missing ${missing.join(", ")}); refusing to change it`,
    );
  }
  const creator = types.get("created_by");
  if (creator !== undefined && creator !== "jsonb") {
    await client.query(`ALTER TABLE ${t.broadcasts} ALTER COLUMN created_by DROP NOT NULL`);
    await client.query(
      `ALTER TABLE ${t.broadcasts} ALTER COLUMN created_by TYPE JSONB USING to_jsonb(created_by)`,
    );
  }
  for (const column of TIME_COLUMNS) {
    if (types.get(column) === "timestamp without time zone") {
      await client.query(
        `ALTER TABLE ${t.broadcasts} ALTER COLUMN ${column} TYPE TIMESTAMPTZ USING ${column} AT TIME ZONE 'UTC'`,
      );
    }
  }
  const added = ADDED_COLUMNS.filter(([name]) => !types.has(name));
  if (added.length > 0) {
    const clauses = added.map(([name, type]) => `ADD COLUMN ${name} ${type}`).join(", ");
    await client.query(`ALTER TABLE ${t.broadcasts} ${clauses}`);
  }
}

async function createBroadcastIndexes(client: PoolClient, t: TableNames): Promise<void> {
  await client.query(`CREATE INDEX IF NOT EXISTS broadcasts_status_id ON ${t.broadcasts} (status, id)`);
  await client.query(
    `CREATE INDEX IF NOT EXISTS broadcasts_due ON ${t.broadcasts} (scheduled_at, id) WHERE status = 'scheduled'`,
  );
}

/**
 * Migration 2: the recipients, one row per recipient keyed by its insertion position (`seq`).
 * `recipient_id` and `message_id` hold JSON text (so `1` and `"1"` differ); a chat is `chat_id`
 * (BIGINT) or `chat_username` (`@channel`). `due_at` is when a pending recipient may be claimed
 * (its retry time, or `-infinity`), so a claim reads one index range; a live lease
 * (`lease_expires_at` in the future) keeps it from being claimed until then. Version 2 wrote a
 * lease's expiry into `due_at` too; such a row waits for the same instant either way.
 */
async function createRecipients(client: PoolClient, t: TableNames): Promise<void> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${t.recipients} (
      broadcast_id BIGINT NOT NULL REFERENCES ${t.broadcasts} (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      recipient_id TEXT NOT NULL,
      chat_id BIGINT,
      chat_username TEXT,
      variables TEXT,
      state VARCHAR(8) NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      last_error_kind VARCHAR(16),
      next_attempt_at TIMESTAMPTZ,
      due_at TIMESTAMPTZ NOT NULL DEFAULT '-infinity',
      lease_owner TEXT,
      lease_epoch BIGINT,
      lease_expires_at TIMESTAMPTZ,
      lease_taken_over BOOLEAN NOT NULL DEFAULT false,
      message_id TEXT,
      PRIMARY KEY (broadcast_id, seq),
      UNIQUE (broadcast_id, recipient_id)
    )`);
  await client.query(`CREATE INDEX IF NOT EXISTS broadcast_recipients_claim
    ON ${t.recipients} (broadcast_id, due_at, seq) WHERE state = 'pending'`);
  // Pending rows stay out of it, so a claim (which leaves a row pending) never writes to it.
  await client.query(`CREATE INDEX IF NOT EXISTS broadcast_recipients_done
    ON ${t.recipients} (broadcast_id, state, seq) WHERE state <> 'pending'`);
}

/**
 * Migration 3: indexes for the hot path. A first delivery now changes no indexed column (nor any
 * column an index's predicate reads), so PostgreSQL updates the row in place (a HOT update, helped
 * by a fill factor of 70) and writes no index entry.
 *
 * - Recipients never handed out (`fresh`) stay out of the claim index: a claim takes them in
 *   insertion order from the broadcast's `fresh_cursor` and records the range it leased in
 *   `broadcast_fresh_leases`, so that an expired one is found again. A recipient enters the claim
 *   index only when it has to wait or be retried (released, retried, reset by a manual retry, or
 *   left behind by an expired lease); once settled there it moves to `due_at = 'infinity'`, past
 *   every claim's range.
 * - The index of settled recipients is replaced by one over recipients that carry an error (the
 *   failed ones among them), read by the failed listing and manual retries.
 * - Rows older than this migration keep their place in the claim index (not fresh, and a cursor
 *   past the broadcast's last recipient); their settled ones move to `'infinity'`.
 */
async function hotPathIndexes(client: PoolClient, t: TableNames): Promise<void> {
  await client.query(`DROP INDEX IF EXISTS ${t.quotedSchema}.broadcast_recipients_done`);
  await client.query(`DROP INDEX IF EXISTS ${t.quotedSchema}.broadcast_recipients_claim`);
  await client.query(`ALTER TABLE ${t.recipients} ADD COLUMN fresh BOOLEAN NOT NULL DEFAULT false`);
  await client.query(`ALTER TABLE ${t.broadcasts} ADD COLUMN fresh_cursor INTEGER NOT NULL DEFAULT 0`);
  await client.query(`UPDATE ${t.broadcasts} SET fresh_cursor = recipient_count`);
  await client.query(`UPDATE ${t.recipients} SET due_at = 'infinity' WHERE state <> 'pending'`);
  await client.query(`CREATE INDEX broadcast_recipients_claim
    ON ${t.recipients} (broadcast_id, due_at, seq) WHERE NOT fresh`);
  await client.query(`CREATE INDEX broadcast_recipients_failed
    ON ${t.recipients} (broadcast_id, seq) WHERE last_error_kind IS NOT NULL`);
  await client.query(`CREATE TABLE ${t.freshLeases} (
    broadcast_id BIGINT NOT NULL REFERENCES ${t.broadcasts} (id) ON DELETE CASCADE,
    epoch BIGINT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (broadcast_id, epoch)
  )`);
  await client.query(`ALTER TABLE ${t.recipients} SET (fillfactor = 70)`);
}

/**
 * Migration 5: the webhook outbox. `broadcast_webhook_events` is the journal of status changes
 * (written in the transaction of the change, under an advisory lock so that event ids commit in
 * order); `broadcast_webhook_endpoints` remembers how far each endpoint has turned the journal into
 * deliveries and its last lease epoch; each `broadcast_webhook_deliveries` row is one event on its
 * way to one endpoint, and its log. `due_at` is when a pending delivery is due (its event's time,
 * then its next attempt), so a claim reads one index range in due order. (Version 4 is the hot
 * path's.)
 */
async function webhookOutbox(client: PoolClient, t: TableNames): Promise<void> {
  await client.query(`CREATE TABLE ${t.webhookEvents} (
    id BIGSERIAL PRIMARY KEY,
    type TEXT NOT NULL,
    broadcast_id BIGINT NOT NULL,
    previous_status VARCHAR(20) NOT NULL,
    status VARCHAR(20) NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    total_recipients INTEGER NOT NULL,
    sent_count INTEGER NOT NULL,
    failed_count INTEGER NOT NULL
  )`);
  await client.query(`CREATE INDEX broadcast_webhook_events_time ON ${t.webhookEvents} (occurred_at)`);
  await client.query(`CREATE TABLE ${t.webhookEndpoints} (
    endpoint_id TEXT PRIMARY KEY,
    seen_up_to BIGINT NOT NULL,
    last_epoch BIGINT NOT NULL DEFAULT 0
  )`);
  await client.query(`CREATE TABLE ${t.webhookDeliveries} (
    id BIGSERIAL PRIMARY KEY,
    endpoint_id TEXT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES ${t.webhookEvents} (id),
    broadcast_id BIGINT NOT NULL,
    state VARCHAR(20) NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ,
    last_attempt_at TIMESTAMPTZ,
    last_error TEXT,
    last_status_code INTEGER,
    delivered_at TIMESTAMPTZ,
    lease_epoch BIGINT,
    lease_owner TEXT,
    lease_expires_at TIMESTAMPTZ,
    UNIQUE (endpoint_id, event_id)
  )`);
  await client.query(`CREATE INDEX broadcast_webhook_deliveries_due
    ON ${t.webhookDeliveries} (endpoint_id, due_at, id) WHERE state = 'pending'`);
  await client.query(`CREATE INDEX broadcast_webhook_deliveries_broadcast
    ON ${t.webhookDeliveries} (broadcast_id, id)`);
}

/**
 * Migration 4: one write per first delivery, and no hot broadcast row.
 *
 * - A range of fresh recipients is leased by its row in `broadcast_fresh_leases` alone (with the
 *   claim's owner, for diagnostics): the recipients' lease columns stay empty until the range
 *   expires and is handed back, so a first delivery writes its recipient row once. Ranges noted
 *   by version 3 also wrote the lease onto their recipients: those columns are cleared here, the
 *   range holding the same lease.
 * - Counters move by batch into `broadcast_counters`, one row per shard of a broadcast (chosen by
 *   the batch's epoch), so concurrent workers do not queue for the broadcast's row. A read adds the
 *   shards to the broadcast's own columns (at most `COUNTER_SHARDS` rows): still O(1), still exact,
 *   and changed in the transaction that changes the recipients. The shards' versions add to the
 *   broadcast's, so `version` still only grows.
 */
async function shardedCounters(client: PoolClient, t: TableNames): Promise<void> {
  await client.query(`ALTER TABLE ${t.freshLeases} ADD COLUMN owner TEXT`);
  await client.query(`UPDATE ${t.freshLeases} AS l SET owner = r.lease_owner FROM ${t.recipients} AS r
    WHERE r.broadcast_id = l.broadcast_id AND r.seq = l.first_seq AND r.lease_epoch = l.epoch`);
  await client.query(`UPDATE ${t.recipients} AS r
    SET lease_epoch = NULL, lease_owner = NULL, lease_expires_at = NULL, lease_taken_over = false
    FROM ${t.freshLeases} AS l
    WHERE r.broadcast_id = l.broadcast_id AND r.seq BETWEEN l.first_seq AND l.last_seq
      AND r.lease_epoch = l.epoch AND r.fresh AND r.state = 'pending'`);
  await client.query(`CREATE TABLE ${t.counters} (
    broadcast_id BIGINT NOT NULL REFERENCES ${t.broadcasts} (id) ON DELETE CASCADE,
    shard SMALLINT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (broadcast_id, shard)
  )`);
}

/**
 * Migration 6: a fill factor of 45 for recipients. A first delivery is a HOT update only when the
 * row's new version fits on its page, and a batch updates every row of its pages at once (dead
 * versions are pruned only after it commits): at 70, a page has room for about a third of its
 * rows' new versions, and the rest are written elsewhere with an entry in every index (measured:
 * 2.7 WAL records and 260 bytes per delivery; at 45, 1 record and 108 bytes, the update 3x
 * faster). The table takes about 1.5x the pages. Only pages written from now on are filled to
 * 45 %: no rewrite.
 */
async function roomForHotUpdates(client: PoolClient, t: TableNames): Promise<void> {
  await client.query(`ALTER TABLE ${t.recipients} SET (fillfactor = 45)`);
}

export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  readonly up: (client: PoolClient, tables: TableNames) => Promise<void>;
}

/** Forward only: a released migration never changes; a new change is a new version. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "broadcasts (create, or adopt the seed's table)",
    up: async (client, t) => {
      await createOrAdoptBroadcasts(client, t);
      await createBroadcastIndexes(client, t);
    },
  },
  { version: 2, name: "broadcast_recipients", up: createRecipients },
  { version: 3, name: "hot-path indexes: fresh recipients by cursor, in-place updates", up: hotPathIndexes },
  {
    version: 4,
    name: "one write per first delivery (fresh ranges hold their lease), sharded counters",
    up: shardedCounters,
  },
  { version: 5, name: "webhook outbox: status-change journal, endpoints, deliveries", up: webhookOutbox },
  { version: 6, name: "recipients fill factor 45: every first delivery a HOT update", up: roomForHotUpdates },
];

/**
 * Applies the pending migrations in one transaction under a transaction-scoped advisory lock
 * keyed by the schema: a second process starting at the same time waits for the lock, then finds
 * them applied. DDL is transactional in PostgreSQL, so a failed migration leaves nothing behind.
 * Returns the versions this call applied.
 */
export async function migratePostgres(client: PoolClient, t: TableNames): Promise<number[]> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`broadcastkit:${t.schema}`]);
    const schema = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [t.schema]);
    if (schema.rowCount === 0) await client.query(`CREATE SCHEMA ${t.quotedSchema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${t.migrations} (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const rows = await client.query<{ version: number }>(`SELECT version FROM ${t.migrations}`);
    const applied = new Set(rows.rows.map((r) => r.version));
    const done: number[] = [];
    for (const migration of POSTGRES_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await migration.up(client, t);
      await client.query(`INSERT INTO ${t.migrations} (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    await client.query("COMMIT");
    return done;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
