import type { TableNames } from "./schema.js";

const CLEAR_LEASE =
  "lease_epoch = NULL, lease_owner = NULL, lease_expires_at = NULL, lease_taken_over = false";

/** What a claim hands back: the recipient's fields, not the lease's (parsing fewer columns is cheaper). */
const CLAIMED_COLUMNS = `r.seq, r.broadcast_id, r.recipient_id, r.chat_id, r.chat_username, r.variables, r.state,
  r.attempts, r.last_error, r.last_error_kind, r.next_attempt_at, r.message_id, r.lease_taken_over`;

/**
 * What the one-statement record of deliveries fails with (inside a cast error) when a lease was
 * lost: the statement committed nothing, and the caller records the batch the transactional way.
 */
export const LEASE_LOST_MARK = "broadcastkit-lease-lost";

/** Counter rows per broadcast: enough that concurrent workers' batches rarely share one. */
export const COUNTER_SHARDS = 16;

/**
 * A broadcast's columns plus what its counter shards add (`shards`: sent, failed, version), folded
 * by the store when it reads the row. At most `COUNTER_SHARDS` rows, by primary key.
 */
export const foldedBroadcast = (t: TableNames, alias: string): string => `${alias}.*,
    (SELECT array[coalesce(sum(c.sent), 0), coalesce(sum(c.failed), 0), coalesce(sum(c.version), 0)]::bigint[]
      FROM ${t.counters} AS c WHERE c.broadcast_id = ${alias}.id) AS shards`;

/** Every fixed statement of one store, its table names filled in. */
export function statements(t: TableNames) {
  const B = t.broadcasts;
  const R = t.recipients;
  const FL = t.freshLeases;
  const C = t.counters;
  const folded = (alias: string) => foldedBroadcast(t, alias);
  /**
   * One statement, one round trip, and the broadcast's row locked only while it runs: the epoch is
   * drawn in the same update that moves the fresh cursor, and the status comes back with the rows
   * (a cancel stored before this claim is seen by it). Waiting recipients of the claim index come
   * first (`FOR UPDATE SKIP LOCKED`, so racing claims pass each other, and a lease writes only
   * columns no index holds: an in-place update); fresh recipients fill the rest from the cursor
   * and are leased as one range noted in `broadcast_fresh_leases`, without writing their rows.
   *
   * Expired fresh ranges are handed back before a claim (see `requeueFreshLease`). `guarded`: the
   * claim itself looks for one (one index probe, usually finding none, so a claim stays one round
   * trip) and, when there is one, claims nothing and answers no row: the caller hands the ranges
   * back, then claims unguarded.
   */
  const claim = (onlyFailed: boolean, guarded: boolean) => {
    const guard = guarded
      ? `AND NOT EXISTS (SELECT 1 FROM ${FL} WHERE broadcast_id = $1::bigint AND expires_at <= $2)`
      : "";
    return `
    WITH picked AS (
      SELECT seq FROM ${R}
      WHERE broadcast_id = $1 AND NOT fresh AND state = 'pending' AND due_at <= $2
        AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
        ${onlyFailed ? "AND last_error IS NOT NULL" : ""} ${guard}
      ORDER BY due_at, seq
      LIMIT $3
      FOR UPDATE SKIP LOCKED),
    old AS (SELECT id, fresh_cursor AS start FROM ${B} WHERE id = $1::bigint ${guard} FOR UPDATE),
    moved AS (
      UPDATE ${B} AS b SET epoch_counter = b.epoch_counter + 1
        ${
          onlyFailed
            ? ""
            : `, fresh_cursor = greatest(old.start,
                least(old.start + $3::int - (SELECT count(*) FROM picked)::int, b.recipient_count))`
        }
      FROM old WHERE b.id = old.id
      RETURNING b.epoch_counter AS epoch, b.status, old.start AS start, b.fresh_cursor AS stop),
    leased AS (
      UPDATE ${R} AS r
      SET lease_taken_over = r.lease_epoch IS NOT NULL,
          lease_epoch = moved.epoch, lease_owner = $4, lease_expires_at = $5
      FROM picked, moved
      WHERE r.broadcast_id = $1 AND r.seq = picked.seq
      RETURNING ${CLAIMED_COLUMNS}),
    noted AS (
      INSERT INTO ${FL} (broadcast_id, epoch, first_seq, last_seq, expires_at, owner)
      SELECT $1::bigint, epoch, start, stop - 1, $5, $4 FROM moved WHERE stop > start)
    SELECT moved.epoch, moved.status, x.* FROM moved LEFT JOIN (
      SELECT * FROM leased
      UNION ALL
      SELECT ${CLAIMED_COLUMNS} FROM ${R} AS r, moved AS m
      WHERE r.broadcast_id = $1 AND r.seq >= m.start AND r.seq < m.stop
    ) AS x ON true`;
  };
  /**
   * When an empty claim should look again: the earliest retry time still ahead, or the earliest
   * expiry of a live lease (of the claim index's recipients, or of a range of fresh ones). After an
   * empty claim every due recipient is under a live lease, so the second part reads only the
   * leased ones.
   */
  const nextDue = (onlyFailed: boolean) => {
    const failedOnly = onlyFailed ? "AND last_error IS NOT NULL" : "";
    const freshLeases = onlyFailed ? "" : `, (SELECT min(expires_at) FROM ${FL} WHERE broadcast_id = $1)`;
    return `
    SELECT CASE WHEN m IS NULL THEN NULL ELSE greatest(m, $2::timestamptz) END AS at FROM (
      SELECT least(
        (SELECT min(due_at) FROM ${R}
          WHERE broadcast_id = $1 AND NOT fresh AND state = 'pending' AND due_at > $2
            AND due_at < 'infinity' ${failedOnly}),
        (SELECT min(coalesce(lease_expires_at, due_at)) FROM ${R}
          WHERE broadcast_id = $1 AND NOT fresh AND state = 'pending' AND due_at <= $2 ${failedOnly})
        ${freshLeases}
      ) AS m) AS next`;
  };
  /**
   * A recipient is held under epoch $E when its own lease says so, or, never handed out before
   * (fresh, no lease of its own), it sits in the range that epoch leased. The range's bounds are
   * read once per statement.
   */
  const heldBy = (alias: string, id: string, epoch: string) => `(${alias}.lease_epoch = ${epoch}
      OR (${alias}.lease_epoch IS NULL AND ${alias}.fresh AND ${alias}.state = 'pending'
        AND ${alias}.seq BETWEEN (SELECT first_seq FROM ${FL} WHERE broadcast_id = ${id} AND epoch = ${epoch})
          AND (SELECT last_seq FROM ${FL} WHERE broadcast_id = ${id} AND epoch = ${epoch})))`;
  /**
   * Forgets a fresh range once none of its recipients is still held by it. Read from the range's
   * end: a range recorded in part still holds its last recipients, found at once.
   */
  const forget = `
      DELETE FROM ${FL} AS l WHERE l.broadcast_id = $1::bigint AND l.epoch = $2
        AND (SELECT 1 FROM ${R} AS r
          WHERE r.broadcast_id = $1::bigint AND r.seq BETWEEN l.first_seq AND l.last_seq
            AND r.fresh AND r.state = 'pending' AND (r.lease_epoch IS NULL OR r.lease_epoch = $2)
          ORDER BY r.seq DESC LIMIT 1) IS NULL`;
  /**
   * One statement for a whole batch: the outcomes arrive as parallel arrays. A row changes only
   * while the batch's epoch still holds it; the caller compares the count and rolls back. The
   * counters move in the same statement, in the batch's shard ($13: sent $14, failed $15), only
   * when every one of the $16 outcomes found its row. `= ANY` on the unique index keeps the rows
   * an index lookup however stale the statistics. A first delivery writes its row once: its
   * lease was the range's, and the lease columns it "clears" were empty already.
   *
   * A delivery clears the error of an earlier attempt. What that costs: `last_error_kind` is read
   * by the predicate of the index over recipients carrying an error, so a row whose kind goes
   * from set to NULL leaves that index and its update is not HOT. A first delivery writes NULL
   * over NULL, which PostgreSQL sees as unchanged: the hot path stays in place. Only recipients
   * delivered after an error pay, and those (retried, reset by a manual retry) already left the
   * claim index's range for `'infinity'` in the same update, which is never HOT either.
   */
  const record = (bySeq: boolean) => `
      WITH recorded AS (UPDATE ${R} AS r SET
        state = CASE v.op WHEN 'delivered' THEN 'sent' WHEN 'failed' THEN 'failed' ELSE 'pending' END,
        attempts = CASE WHEN v.op = 'released' THEN r.attempts ELSE v.attempts END,
        last_error = CASE WHEN v.op IN ('failed', 'retry') THEN v.error
          WHEN v.op = 'delivered' THEN NULL ELSE r.last_error END,
        last_error_kind = CASE WHEN v.op IN ('failed', 'retry') THEN v.kind
          WHEN v.op = 'delivered' THEN NULL ELSE r.last_error_kind END,
        next_attempt_at = CASE v.op WHEN 'released' THEN r.next_attempt_at ELSE v.next_at END,
        due_at = CASE v.op
          WHEN 'released' THEN COALESCE(r.next_attempt_at, '-infinity')
          WHEN 'retry' THEN v.next_at
          ELSE CASE WHEN r.fresh THEN r.due_at ELSE 'infinity' END END,
        fresh = CASE WHEN v.op IN ('released', 'retry') THEN false ELSE r.fresh END,
        message_id = CASE WHEN v.op = 'delivered' THEN v.message_id ELSE r.message_id END,
        chat_id = CASE WHEN v.moved THEN v.chat_id ELSE r.chat_id END,
        chat_username = CASE WHEN v.moved THEN v.chat_username ELSE r.chat_username END,
        ${CLEAR_LEASE}
      FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[],
                  $8::text[], $9::bool[], $10::bigint[], $11::text[]${bySeq ? ", $17::int[]" : ""})
        AS v(recipient_id, op, attempts, error, kind, next_at, message_id, moved, chat_id, chat_username${bySeq ? ", seq" : ""})
      WHERE r.broadcast_id = $1 AND ${
        bySeq ? "r.seq BETWEEN $18 AND $19 AND r.seq = v.seq" : "r.recipient_id = ANY($2::text[])"
      } AND r.recipient_id = v.recipient_id
        AND ${heldBy("r", "$1", "$12")}
      RETURNING r.recipient_id),
      counted AS (
        INSERT INTO ${C} AS c (broadcast_id, shard, sent, failed, version)
        SELECT $1::bigint, $13::smallint, $14::bigint, $15::bigint, 1 WHERE (SELECT count(*) FROM recorded) = $16
        ON CONFLICT (broadcast_id, shard) DO UPDATE
        SET sent = c.sent + excluded.sent, failed = c.failed + excluded.failed, version = c.version + 1)
      SELECT recipient_id FROM recorded`;
  const retriable = "AND (last_error_kind IS NULL OR last_error_kind <> 'permanent')";
  /**
   * Failed recipients, spelled so the partial index over recipients carrying an error serves them
   * (that index reads no `state`, so settling a recipient never blocks an in-place update).
   */
  const FAILED = "last_error_kind IS NOT NULL AND state = 'failed'";
  return {
    insertBroadcast: `
      INSERT INTO ${B} (created_by, message, parse_mode, status, error_threshold, created_at, scheduled_at,
                        recipient_count, sent_count, failed_count)
      VALUES ($1::jsonb, $2, $3, $4, $5, $6, $7, 0, 0, 0) RETURNING id`,
    insertRecipients: `
      INSERT INTO ${R} (broadcast_id, seq, recipient_id, chat_id, chat_username, variables, fresh)
      SELECT $1::bigint, *, true FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[])`,
    /**
     * An append's chunk: a recipient id already in the broadcast, or earlier in the same chunk, is
     * skipped; the ids inserted come back, so the caller names the others and rolls back.
     */
    appendRecipients: `
      INSERT INTO ${R} (broadcast_id, seq, recipient_id, chat_id, chat_username, variables, fresh)
      SELECT $1::bigint, *, true FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[], $6::text[])
      ON CONFLICT (broadcast_id, recipient_id) DO NOTHING
      RETURNING recipient_id`,
    addRecipientCount: `
      UPDATE ${B} AS b SET recipient_count = recipient_count + $2, version = version + 1
      WHERE b.id = $1::bigint RETURNING ${folded("b")}`,
    setRecipientCount: `UPDATE ${B} AS b SET recipient_count = $2 WHERE b.id = $1::bigint RETURNING ${folded("b")}`,
    getBroadcast: `SELECT ${folded("b")} FROM ${B} AS b WHERE b.id = $1::bigint`,
    lockBroadcast: `SELECT ${folded("b")} FROM ${B} AS b WHERE b.id = $1::bigint FOR UPDATE OF b`,
    statusOf: `SELECT status FROM ${B} WHERE id = $1::bigint`,
    listBroadcasts: `SELECT ${folded("b")} FROM ${B} AS b WHERE b.id < $1::bigint ORDER BY b.id DESC LIMIT $2`,
    listBroadcastsByStatus: `
      SELECT ${folded("b")} FROM ${B} AS b WHERE b.status = $1 AND b.id < $2::bigint ORDER BY b.id DESC LIMIT $3`,
    listRecipients: `SELECT * FROM ${R} WHERE broadcast_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    listRecipientsByState: `
      SELECT * FROM ${R} WHERE broadcast_id = $1 AND state = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
    /** Failed recipients carry an error: the partial index over those serves the listing. */
    listFailedRecipients: `
      SELECT * FROM ${R} WHERE broadcast_id = $1 AND ${FAILED}
        AND seq > $2 ORDER BY seq LIMIT $3`,
    findDue: `
      SELECT ${folded("b")} FROM ${B} AS b WHERE b.status = 'scheduled' AND b.scheduled_at <= $1
      ORDER BY b.scheduled_at, b.id LIMIT $2`,
    /** Fresh leases past their expiry: usually none, so a claim pays one index lookup for them. */
    expiredFreshLeases: `
      SELECT epoch, first_seq, last_seq, expires_at, owner FROM ${FL}
      WHERE broadcast_id = $1::bigint AND expires_at <= $2`,
    /**
     * An expired fresh range ($2, over positions $3..$4) is handed back: the recipients it still
     * holds get its lease written on their rows ($5 expiry, $6 owner) and join the claim index,
     * where the claim that follows takes them over (and marks them so). Rows a late record holds
     * are skipped (never waited for, so the two never deadlock); the range stays noted until a
     * later claim moves them.
     */
    requeueFreshLease: `
      UPDATE ${R} SET fresh = false, lease_epoch = $2, lease_expires_at = $5, lease_owner = $6,
        lease_taken_over = false
      WHERE broadcast_id = $1::bigint AND seq IN (
        SELECT seq FROM ${R}
        WHERE broadcast_id = $1::bigint AND seq BETWEEN $3 AND $4 AND fresh AND state = 'pending'
          AND (lease_epoch IS NULL OR lease_epoch = $2)
        FOR UPDATE SKIP LOCKED)`,
    /**
     * Forgets a fresh lease once it holds nobody. A scalar subquery, so that it stays one
     * primary-key range read per lease whatever the planner's statistics say.
     */
    forgetFreshLease: forget,
    /** A recorded batch forgets its range when it was the last one held, and reads the broadcast back. */
    forgetAndRead: `
      WITH forgotten AS (${forget})
      SELECT ${folded("b")} FROM ${B} AS b WHERE b.id = $1::bigint`,
    claim: claim(false, true),
    claimOnlyFailed: claim(true, true),
    /** After expired fresh ranges were handed back: the claim takes what they still held. */
    claimAfterHandback: claim(false, false),
    claimOnlyFailedAfterHandback: claim(true, false),
    nextDue: nextDue(false),
    nextDueOnlyFailed: nextDue(true),
    record: record(false),
    /**
     * The same, for a batch whose positions ($17, within $18..$19) the store remembers from its
     * claim: one range scan of the primary key (a fresh range's rows sit side by side) instead of
     * a unique-index probe per recipient.
     */
    recordBySeq: record(true),
    /**
     * The common batch, every outcome a delivery and positions remembered, as ONE statement (in
     * autocommit, its own transaction: one round trip instead of BEGIN, update, read, COMMIT).
     * `$2` maps each position to `[attempts, message id]` (a jsonb object, looked up by binary
     * search): the update reads one table by one primary-key range ($4..$5), with no join whose
     * plan stale statistics could turn quadratic. Held under epoch $3; counters in shard $6 (sent
     * $7), only when all $8 outcomes found their row.
     *
     * A shortfall (a lease lost) must commit nothing, and one statement cannot roll back part of
     * itself: the last column then fails the statement with a cast error carrying `LEASE_LOST_MARK`
     * (plain SQL raises no other way without a function in the schema), and the caller takes the
     * transactional path, which names the lost recipients.
     *
     * Every part reads the statement's snapshot, not the others' writes: the range is forgotten
     * when the fresh recipients it still held there are exactly the ones recorded here (a whole
     * range recorded at once is known without reading it), and the shards are the snapshot's but
     * for this batch's own, read back from its update.
     */
    recordDelivered: `
      WITH recorded AS (UPDATE ${R} AS r SET
        state = 'sent', attempts = ($2::jsonb -> r.seq::text ->> 0)::int,
        message_id = $2::jsonb -> r.seq::text ->> 1,
        last_error = NULL, last_error_kind = NULL, next_attempt_at = NULL,
        due_at = CASE WHEN r.fresh THEN r.due_at ELSE 'infinity' END,
        ${CLEAR_LEASE}
      WHERE r.broadcast_id = $1 AND r.seq BETWEEN $4 AND $5 AND $2::jsonb ? r.seq::text
        AND ${heldBy("r", "$1", "$3")}
      RETURNING r.seq, r.fresh),
      counted AS (
        INSERT INTO ${C} AS c (broadcast_id, shard, sent, failed, version)
        SELECT $1::bigint, $6::smallint, $7::bigint, 0, 1 WHERE (SELECT count(*) FROM recorded) = $8
        ON CONFLICT (broadcast_id, shard) DO UPDATE
        SET sent = c.sent + excluded.sent, version = c.version + 1
        RETURNING c.sent, c.failed, c.version),
      range AS (
        SELECT l.first_seq, l.last_seq,
          (SELECT count(*) FROM recorded AS x WHERE x.fresh AND x.seq BETWEEN l.first_seq AND l.last_seq) AS done
        FROM ${FL} AS l WHERE l.broadcast_id = $1::bigint AND l.epoch = $3),
      forgotten AS (
        DELETE FROM ${FL} AS l USING range AS g WHERE l.broadcast_id = $1::bigint AND l.epoch = $3
          AND CASE WHEN g.done = g.last_seq - g.first_seq + 1 THEN true
            ELSE g.done = (SELECT count(*) FROM ${R} AS h
              WHERE h.broadcast_id = $1::bigint AND h.seq BETWEEN g.first_seq AND g.last_seq
                AND h.fresh AND h.state = 'pending' AND (h.lease_epoch IS NULL OR h.lease_epoch = $3)) END)
      SELECT b.*,
        (SELECT array[coalesce(sum(s.sent), 0), coalesce(sum(s.failed), 0), coalesce(sum(s.version), 0)]::bigint[]
          FROM (SELECT sent, failed, version FROM ${C} WHERE broadcast_id = $1::bigint AND shard <> $6::smallint
            UNION ALL SELECT sent, failed, version FROM counted) AS s) AS shards,
        CASE WHEN k.n = $8 THEN k.n ELSE ('${LEASE_LOST_MARK} ' || k.n)::int END AS recorded
      FROM (SELECT count(*) AS n FROM recorded) AS k LEFT JOIN ${B} AS b ON b.id = $1::bigint`,
    /**
     * Extends the leases of those recipients ($2, encoded ids) the epoch ($3) still holds, to $4:
     * their range's (one row, for the fresh ones) and their own (the others); answers the ones held.
     */
    renewLease: `
      WITH range AS (
        UPDATE ${FL} SET expires_at = greatest(expires_at, $4)
        WHERE broadcast_id = $1::bigint AND epoch = $3 RETURNING first_seq, last_seq),
      renewed AS (
        UPDATE ${R} SET lease_expires_at = greatest(lease_expires_at, $4)
        WHERE broadcast_id = $1::bigint AND recipient_id = ANY($2::text[]) AND lease_epoch = $3
          AND state = 'pending'
        RETURNING recipient_id)
      SELECT recipient_id FROM renewed
      UNION ALL
      SELECT r.recipient_id FROM ${R} AS r, range
      WHERE r.broadcast_id = $1::bigint AND r.recipient_id = ANY($2::text[]) AND r.lease_epoch IS NULL
        AND r.fresh AND r.state = 'pending' AND r.seq BETWEEN range.first_seq AND range.last_seq`,
    /**
     * Whether anyone holds a live lease (a fresh range, or a recipient of the claim index), and
     * whether a claim now would find someone: fresh recipients past the cursor, an expired fresh
     * range, or a due recipient of the claim index outside a live lease.
     */
    activity: `
      SELECT
        (EXISTS (SELECT 1 FROM ${FL} WHERE broadcast_id = $1::bigint AND expires_at > $2)
          OR EXISTS (SELECT 1 FROM ${R}
            WHERE broadcast_id = $1::bigint AND NOT fresh AND state = 'pending'
              AND lease_expires_at > $2)) AS leased,
        (b.fresh_cursor < b.recipient_count
          OR EXISTS (SELECT 1 FROM ${FL} WHERE broadcast_id = $1::bigint AND expires_at <= $2)
          OR EXISTS (SELECT 1 FROM ${R}
            WHERE broadcast_id = $1::bigint AND NOT fresh AND state = 'pending' AND due_at <= $2
              AND (lease_expires_at IS NULL OR lease_expires_at <= $2))) AS claimable
      FROM ${B} AS b WHERE b.id = $1::bigint`,
    /** The per-error counts ($2, a delta) and the error log ($3 appended, $4 kept) of a batch with failures. */
    addErrors: `
      UPDATE ${B} SET
        error_counts = (
          SELECT COALESCE(jsonb_object_agg(k, n), '{}'::jsonb) FROM (
            SELECT k, sum(n) AS n FROM (
              SELECT key AS k, value::bigint AS n FROM jsonb_each_text(error_counts)
              UNION ALL
              SELECT key, value::bigint FROM jsonb_each_text($2::jsonb)
            ) AS counted GROUP BY k HAVING sum(n) > 0
          ) AS merged),
        error_log = (
          SELECT COALESCE(jsonb_agg(entry ORDER BY position), '[]'::jsonb) FROM (
            SELECT entry, position
            FROM jsonb_array_elements(error_log || $3::jsonb) WITH ORDINALITY AS e(entry, position)
            ORDER BY position DESC LIMIT $4
          ) AS kept)
      WHERE id = $1::bigint`,
    /** What the shards of a broadcast add to its sent and failed counts. */
    shardTotals: `
      SELECT coalesce(sum(sent), 0)::bigint AS sent, coalesce(sum(failed), 0)::bigint AS failed
      FROM ${C} WHERE broadcast_id = $1::bigint`,
    countFailed: `
      SELECT count(*)::int AS failed, (count(*) FILTER (WHERE last_error_kind = 'permanent'))::int AS permanent
      FROM ${R} WHERE broadcast_id = $1 AND ${FAILED}`,
    failedErrors: `
      SELECT last_error AS error, count(*)::int AS n FROM ${R}
      WHERE broadcast_id = $1 AND ${FAILED} ${retriable}
      GROUP BY last_error`,
    failedErrorsAll: `
      SELECT last_error AS error, count(*)::int AS n FROM ${R}
      WHERE broadcast_id = $1 AND ${FAILED} GROUP BY last_error`,
    resetFailed: `
      UPDATE ${R} SET state = 'pending', attempts = 0, next_attempt_at = NULL, due_at = '-infinity',
        fresh = false
      WHERE broadcast_id = $1 AND ${FAILED} ${retriable}`,
    resetFailedAll: `
      UPDATE ${R} SET state = 'pending', attempts = 0, next_attempt_at = NULL, due_at = '-infinity',
        fresh = false
      WHERE broadcast_id = $1 AND ${FAILED}`,
  };
}

export type PostgresStatements = ReturnType<typeof statements>;
export type StatementName = keyof PostgresStatements;
