import type { Database, Statement } from "better-sqlite3";
import type { BroadcastRow, RecipientRow } from "../sql-shared/rows.js";
import { ALWAYS_DUE } from "./schema.js";

type Row<T> = Statement<unknown[], T>;
type Exec = Statement<unknown[], unknown>;

const CLEAR_LEASE = "lease_epoch = NULL, lease_owner = NULL, lease_expires_at = NULL, lease_taken_over = 0";
/**
 * Held under the batch's epoch: by the recipient's own lease, or, never handed out before (fresh,
 * no lease of its own), by sitting in the range that epoch leased. Parameters: epoch, then the
 * range's first and last positions (an empty range when the epoch leased none).
 */
const HELD_BY = `(lease_epoch = ? OR (lease_epoch IS NULL AND fresh = 1 AND state = 'pending' AND seq BETWEEN ? AND ?))`;
const HELD = `WHERE broadcast_id = ? AND recipient_id = ? AND ${HELD_BY}`;
/**
 * A delivery clears the error of an earlier attempt. Cheap: the error columns are in no index (the
 * failed index reads only `state`), and a first attempt's row has them NULL already; SQLite
 * rewrites the row either way.
 */
const CLEAR_ERROR = "last_error = NULL, last_error_kind = NULL";

/**
 * The columns a claim reads, as positional rows (better-sqlite3's raw mode): building an object
 * per row costs more than the read itself on a claim's hot path, and so does every column, so
 * the chat comes as one value and the traces of earlier attempts as one JSON array, present only
 * when there are some (a first attempt has none).
 */
const CLAIMED_COLUMNS = `seq, recipient_id, coalesce(chat_id, chat_username), variables, attempts, lease_epoch,
  CASE WHEN last_error IS NULL AND last_error_kind IS NULL AND next_attempt_at IS NULL AND message_id IS NULL
    THEN NULL ELSE json_array(last_error, last_error_kind, next_attempt_at, message_id) END`;

/** A fresh recipient as a claim reads it. */
export type FreshRow = [
  seq: number,
  recipientId: string,
  chat: number | string,
  variables: string | null,
  attempts: number,
];

export type ClaimedRow = [
  seq: number,
  recipientId: string,
  chat: number | string,
  variables: string | null,
  attempts: number,
  leaseEpoch: number | null,
  /** JSON `[lastError, lastErrorKind, nextAttemptAt, messageId]`, or null when all four are. */
  earlierAttempts: string | null,
];

/**
 * The claimable recipients of the claim index (those that waited, or are retried), oldest due
 * first, skipping the ones under a live lease. A lease leaves `due_at` (and so the index) alone:
 * moving every leased recipient within the index cost more than the claim's other work together,
 * and the recipients a claim must skip are few (the batches other workers hold right now).
 */
function claimableSql(columns: string, onlyFailed: boolean): string {
  return `SELECT ${columns} FROM broadcast_recipients
    WHERE broadcast_id = ? AND state = 'pending' AND fresh = 0 AND due_at <= ?
      AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
      ${onlyFailed ? "AND last_error IS NOT NULL" : ""}
    ORDER BY due_at, seq LIMIT ?`;
}

const LEASE = `UPDATE broadcast_recipients
    SET lease_taken_over = lease_epoch IS NOT NULL,
        lease_epoch = ?, lease_owner = ?, lease_expires_at = ?`;

/**
 * A claim reads its rows, then leases the same range in the same transaction (nothing can change
 * in between). Reading first is cheaper than `RETURNING *`, and the rows read still show whether
 * an earlier lease was there to be taken over.
 */
function leaseSql(onlyFailed: boolean): string {
  return `${LEASE} WHERE broadcast_id = ? AND seq IN (${claimableSql("seq", onlyFailed)})`;
}

/**
 * Fresh recipients always, and waiting ones often, sit at consecutive positions: leasing them as a
 * range spares reading the claim index a second time.
 */
const LEASE_RANGE = `${LEASE} WHERE broadcast_id = ? AND seq BETWEEN ? AND ?`;

/**
 * When an empty claim should look again: the earliest retry time still ahead, or the earliest
 * expiry of a live lease (of the claim index's recipients, or of a range of fresh ones). After an
 * empty claim every due recipient is under a live lease, so the second part reads only the leased
 * ones. Parameters: broadcast, now, broadcast, now, broadcast.
 */
function nextDueSql(onlyFailed: boolean): string {
  const failedOnly = onlyFailed ? "AND last_error IS NOT NULL" : "";
  return `SELECT min(at) AS at FROM (
      SELECT min(due_at) AS at FROM broadcast_recipients
        WHERE broadcast_id = ? AND state = 'pending' AND fresh = 0 AND due_at > ? ${failedOnly}
      UNION ALL
      SELECT min(coalesce(lease_expires_at, due_at)) AS at FROM broadcast_recipients
        WHERE broadcast_id = ? AND state = 'pending' AND fresh = 0 AND due_at <= ? ${failedOnly}
      UNION ALL
      SELECT min(expires_at) AS at FROM broadcast_fresh_leases
        WHERE broadcast_id = ? ${onlyFailed ? "AND 0" : ""}
    )`;
}

/** Fresh recipients, in insertion order from the broadcast's cursor: a primary-key range. */
const FRESH_ROWS = (columns: string) => `SELECT ${columns} FROM broadcast_recipients
    WHERE broadcast_id = ? AND seq >= ? ORDER BY seq LIMIT ?`;

/**
 * The failed recipients, through their partial index: SQLite's planner, without statistics,
 * prefers scanning the whole broadcast by primary key, so the index is named.
 */
const FAILED_RECIPIENTS = "broadcast_recipients INDEXED BY broadcast_recipients_failed";

const RETRIABLE = "AND (last_error_kind IS NULL OR last_error_kind <> 'permanent')";

/**
 * Delivered recipients recorded in one statement: `rows` triples of (position, attempts, message
 * id), each row changed only while the batch's epoch still holds it. One statement per batch
 * costs less than a statement per recipient; the caller compares the count of changed rows.
 */
export function recordDeliveredBatchSql(rows: number): string {
  const values = Array.from({ length: rows }, () => "(?, ?, ?)").join(", ");
  return `UPDATE broadcast_recipients
    SET state = 'sent', attempts = v.column2, message_id = v.column3, ${CLEAR_ERROR},
        next_attempt_at = NULL, due_at = ${ALWAYS_DUE}, ${CLEAR_LEASE}
    FROM (VALUES ${values}) AS v
    WHERE broadcast_id = ? AND broadcast_recipients.seq = v.column1 AND ${HELD_BY}`;
}

/**
 * Delivered recipients at consecutive positions recorded in one statement without a join: a join
 * (`UPDATE ... FROM (VALUES ...)`) makes SQLite gather the changed rows in a temporary table
 * before writing them, which cost about as much as writing the rows. Here the rows are read
 * straight off the primary key, and each finds its message id by a binary search written as
 * nested `CASE`s over `leaves` slots (a power of two, so that a few statements serve every run
 * length). Parameters: attempts; per inner node of the tree in pre-order, the first position of
 * its right half, and per leaf, in order, a message id (both depth-first: see `spanTreeValues`);
 * then broadcast, first and last position, epoch, and the epoch's fresh range (first, last).
 */
export function recordDeliveredRunSql(leaves: number): string {
  const tree = (width: number): string =>
    width === 1 ? "?" : `CASE WHEN seq < ? THEN ${tree(width / 2)} ELSE ${tree(width / 2)} END`;
  return `UPDATE broadcast_recipients
    SET state = 'sent', attempts = ?, message_id = ${tree(leaves)}, ${CLEAR_ERROR},
        next_attempt_at = NULL, due_at = ${ALWAYS_DUE}, ${CLEAR_LEASE}
    WHERE broadcast_id = ? AND seq BETWEEN ? AND ? AND ${HELD_BY}`;
}

/**
 * The tree's values for a run of `messageIds.length` rows from position `first`, into `out`.
 * Slots past the run are never reached: their halves start after the run's last position.
 */
export function spanTreeValues(
  first: number,
  messageIds: readonly (string | null)[],
  leaves: number,
  out: unknown[],
): void {
  const fill = (start: number, width: number): void => {
    if (width === 1) {
      out.push(start < messageIds.length ? messageIds[start] : null);
      return;
    }
    const half = width / 2;
    out.push(first + start + half);
    fill(start, half);
    fill(start + half, half);
  };
  fill(0, leaves);
}

/**
 * Whether anyone holds a live lease (a fresh range, or a recipient of the claim index), and whether
 * a claim now would find someone: fresh recipients past the cursor, an expired fresh range, or a
 * due recipient of the claim index outside a live lease. Parameters: `@id`, `@now`.
 */
const ACTIVITY = `SELECT
    (EXISTS (SELECT 1 FROM broadcast_fresh_leases WHERE broadcast_id = @id AND expires_at > @now)
      OR EXISTS (SELECT 1 FROM broadcast_recipients
        WHERE broadcast_id = @id AND state = 'pending' AND fresh = 0 AND lease_expires_at > @now)) AS leased,
    (b.fresh_cursor < b.recipient_count
      OR EXISTS (SELECT 1 FROM broadcast_fresh_leases WHERE broadcast_id = @id AND expires_at <= @now)
      OR EXISTS (SELECT 1 FROM broadcast_recipients
        WHERE broadcast_id = @id AND state = 'pending' AND fresh = 0 AND due_at <= @now
          AND (lease_expires_at IS NULL OR lease_expires_at <= @now))) AS claimable
  FROM broadcasts AS b WHERE b.id = @id`;

/** Every fixed statement the store runs, prepared once per connection. */
export function prepareStatements(db: Database) {
  return {
    insertBroadcast: db.prepare(`
      INSERT INTO broadcasts (created_by, message, parse_mode, status, error_threshold, created_at, scheduled_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`) as Row<{ id: number }>,
    insertRecipient: db.prepare(`
      INSERT INTO broadcast_recipients (broadcast_id, seq, recipient_id, chat_id, chat_username, variables, fresh)
      VALUES (?, ?, ?, ?, ?, ?, 1)`) as Exec,
    /** An append's recipient; a recipient id already in the broadcast changes nothing (0 rows). */
    appendRecipient: db.prepare(`
      INSERT INTO broadcast_recipients (broadcast_id, seq, recipient_id, chat_id, chat_username, variables, fresh)
      VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (broadcast_id, recipient_id) DO NOTHING`) as Exec,
    addRecipientCount: db.prepare(
      "UPDATE broadcasts SET recipient_count = recipient_count + ?, version = version + 1 WHERE id = ? RETURNING *",
    ) as Row<BroadcastRow>,
    setRecipientCount: db.prepare(
      "UPDATE broadcasts SET recipient_count = ? WHERE id = ? RETURNING *",
    ) as Row<BroadcastRow>,
    getBroadcast: db.prepare("SELECT * FROM broadcasts WHERE id = ?") as Row<BroadcastRow>,
    statusOf: db.prepare("SELECT status FROM broadcasts WHERE id = ?") as Row<{ status: string }>,
    listBroadcasts: db.prepare(
      "SELECT * FROM broadcasts WHERE id < ? ORDER BY id DESC LIMIT ?",
    ) as Row<BroadcastRow>,
    listBroadcastsByStatus: db.prepare(
      "SELECT * FROM broadcasts WHERE status = ? AND id < ? ORDER BY id DESC LIMIT ?",
    ) as Row<BroadcastRow>,
    listRecipients: db.prepare(
      "SELECT * FROM broadcast_recipients WHERE broadcast_id = ? AND seq > ? ORDER BY seq LIMIT ?",
    ) as Row<RecipientRow>,
    listRecipientsByState: db.prepare(
      "SELECT * FROM broadcast_recipients WHERE broadcast_id = ? AND state = ? AND seq > ? ORDER BY seq LIMIT ?",
    ) as Row<RecipientRow>,
    listFailedRecipients: db.prepare(
      `SELECT * FROM ${FAILED_RECIPIENTS} WHERE broadcast_id = ? AND state = 'failed' AND seq > ? ORDER BY seq LIMIT ?`,
    ) as Row<RecipientRow>,
    findDue: db.prepare(`
      SELECT * FROM broadcasts WHERE status = 'scheduled' AND scheduled_at <= ?
      ORDER BY scheduled_at, id LIMIT ?`) as Row<BroadcastRow>,
    /** Where a claim starts: the epoch counter, the fresh cursor and the status, read in its transaction. */
    claimStart: db.prepare("SELECT epoch_counter, fresh_cursor, status FROM broadcasts WHERE id = ?") as Row<{
      epoch_counter: number;
      fresh_cursor: number;
      status: string;
    }>,
    /**
     * Fresh recipients were never handed out, so they carry no trace of an attempt: a claim reads
     * only what a send needs.
     */
    freshRows: db
      .prepare(FRESH_ROWS("seq, recipient_id, coalesce(chat_id, chat_username), variables, attempts"))
      .raw(true) as Row<FreshRow>,
    /** The epoch issued and the cursor moved, in one write of the broadcast's row. */
    moveCursor: db.prepare("UPDATE broadcasts SET epoch_counter = ?, fresh_cursor = ? WHERE id = ?") as Exec,
    insertFreshLease: db.prepare(`
      INSERT INTO broadcast_fresh_leases (broadcast_id, epoch, first_seq, last_seq, expires_at, owner)
      VALUES (?, ?, ?, ?, ?, ?)`) as Exec,
    freshRange: db.prepare(
      "SELECT first_seq, last_seq FROM broadcast_fresh_leases WHERE broadcast_id = ? AND epoch = ?",
    ) as Row<{ first_seq: number; last_seq: number }>,
    expiredFreshLeases: db.prepare(`
      SELECT epoch, first_seq, last_seq, expires_at, owner FROM broadcast_fresh_leases
      WHERE broadcast_id = ? AND expires_at <= ?`) as Row<{
      epoch: number;
      first_seq: number;
      last_seq: number;
      expires_at: number;
      owner: string | null;
    }>,
    /**
     * An expired fresh range is handed back: the recipients it still holds get its lease written on
     * their rows and join the claim index, where the claim that follows takes them over (and marks
     * them so). Parameters: epoch, expiry, owner, broadcast, first, last, epoch.
     */
    requeueFreshLease: db.prepare(`
      UPDATE broadcast_recipients SET fresh = 0, lease_epoch = ?, lease_expires_at = ?, lease_owner = ?,
        lease_taken_over = 0
      WHERE broadcast_id = ? AND seq BETWEEN ? AND ? AND state = 'pending' AND fresh = 1
        AND (lease_epoch IS NULL OR lease_epoch = ?)`) as Exec,
    deleteFreshLease: db.prepare(
      "DELETE FROM broadcast_fresh_leases WHERE broadcast_id = ? AND epoch = ?",
    ) as Exec,
    /** Forgets a fresh lease once none of its recipients is still held by it. */
    forgetFreshLease: db.prepare(`
      DELETE FROM broadcast_fresh_leases AS l WHERE l.broadcast_id = ? AND l.epoch = ?
        AND (SELECT 1 FROM broadcast_recipients AS r
          WHERE r.broadcast_id = l.broadcast_id AND r.seq BETWEEN l.first_seq AND l.last_seq
            AND r.fresh = 1 AND r.state = 'pending' AND (r.lease_epoch IS NULL OR r.lease_epoch = l.epoch)
          ORDER BY r.seq DESC LIMIT 1) IS NULL`) as Exec,
    claimable: db.prepare(claimableSql(CLAIMED_COLUMNS, false)).raw(true) as Row<ClaimedRow>,
    claimableOnlyFailed: db.prepare(claimableSql(CLAIMED_COLUMNS, true)).raw(true) as Row<ClaimedRow>,
    lease: db.prepare(leaseSql(false)) as Exec,
    leaseOnlyFailed: db.prepare(leaseSql(true)) as Exec,
    leaseRange: db.prepare(LEASE_RANGE) as Exec,
    nextDue: db.prepare(nextDueSql(false)) as Row<{ at: number | null }>,
    nextDueOnlyFailed: db.prepare(nextDueSql(true)) as Row<{ at: number | null }>,

    recordDelivered: db.prepare(`
      UPDATE broadcast_recipients SET state = 'sent', attempts = ?, message_id = ?, ${CLEAR_ERROR},
        next_attempt_at = NULL, due_at = ${ALWAYS_DUE}, ${CLEAR_LEASE} ${HELD}`) as Exec,
    recordFailed: db.prepare(`
      UPDATE broadcast_recipients SET state = 'failed', attempts = ?, last_error = ?, last_error_kind = ?,
        next_attempt_at = NULL, due_at = ${ALWAYS_DUE}, ${CLEAR_LEASE} ${HELD}`) as Exec,
    recordRetry: db.prepare(`
      UPDATE broadcast_recipients SET attempts = ?, last_error = ?, last_error_kind = ?,
        next_attempt_at = ?, due_at = ?, fresh = 0, ${CLEAR_LEASE} ${HELD}`) as Exec,
    recordReleased: db.prepare(`
      UPDATE broadcast_recipients SET due_at = COALESCE(next_attempt_at, ${ALWAYS_DUE}), fresh = 0, ${CLEAR_LEASE} ${HELD}`) as Exec,
    moveChat: db.prepare(`UPDATE broadcast_recipients SET chat_id = ?, chat_username = ? ${HELD}`) as Exec,
    renewLease: db.prepare(`
      UPDATE broadcast_recipients SET lease_expires_at = max(lease_expires_at, ?)
      WHERE broadcast_id = ? AND recipient_id = ? AND lease_epoch = ? AND state = 'pending'`) as Exec,
    /** Whether a recipient is held by its epoch's fresh range (first, last): nothing to write, the range was renewed. */
    heldByRange: db.prepare(`
      SELECT 1 AS held FROM broadcast_recipients WHERE broadcast_id = ? AND recipient_id = ?
        AND lease_epoch IS NULL AND fresh = 1 AND state = 'pending' AND seq BETWEEN ? AND ?`) as Row<{
      held: number;
    }>,
    renewFreshLease: db.prepare(`
      UPDATE broadcast_fresh_leases SET expires_at = max(expires_at, ?) WHERE broadcast_id = ? AND epoch = ?
      RETURNING first_seq, last_seq`) as Row<{ first_seq: number; last_seq: number }>,
    activity: db.prepare(ACTIVITY) as Row<{ leased: number; claimable: number }>,
    addCounts: db.prepare(`
      UPDATE broadcasts SET sent_count = sent_count + ?, failed_count = failed_count + ?, version = version + 1
      WHERE id = ? RETURNING *`) as Row<BroadcastRow>,
    errorsOf: db.prepare("SELECT error_counts, error_log FROM broadcasts WHERE id = ?") as Row<{
      error_counts: string;
      error_log: string;
    }>,
    setErrors: db.prepare("UPDATE broadcasts SET error_counts = ?, error_log = ? WHERE id = ?") as Exec,

    countFailed: db.prepare(`
      SELECT count(*) AS failed, coalesce(sum(last_error_kind = 'permanent'), 0) AS permanent
      FROM ${FAILED_RECIPIENTS} WHERE broadcast_id = ? AND state = 'failed'`) as Row<{
      failed: number;
      permanent: number;
    }>,
    failedErrors: db.prepare(`
      SELECT last_error AS error, count(*) AS n FROM ${FAILED_RECIPIENTS}
      WHERE broadcast_id = ? AND state = 'failed' ${RETRIABLE} GROUP BY last_error`) as Row<{
      error: string | null;
      n: number;
    }>,
    failedErrorsAll: db.prepare(`
      SELECT last_error AS error, count(*) AS n FROM ${FAILED_RECIPIENTS}
      WHERE broadcast_id = ? AND state = 'failed' GROUP BY last_error`) as Row<{
      error: string | null;
      n: number;
    }>,
    resetFailed: db.prepare(`
      UPDATE ${FAILED_RECIPIENTS} SET state = 'pending', attempts = 0, next_attempt_at = NULL,
        due_at = ${ALWAYS_DUE}, fresh = 0 WHERE broadcast_id = ? AND state = 'failed' ${RETRIABLE}`) as Exec,
    resetFailedAll: db.prepare(`
      UPDATE ${FAILED_RECIPIENTS} SET state = 'pending', attempts = 0, next_attempt_at = NULL,
        due_at = ${ALWAYS_DUE}, fresh = 0 WHERE broadcast_id = ? AND state = 'failed'`) as Exec,
    lowerFailed: db.prepare(`
      UPDATE broadcasts SET failed_count = max(0, failed_count - ?), error_counts = ? WHERE id = ?`) as Exec,
  };
}

export type SqliteStatements = ReturnType<typeof prepareStatements>;
