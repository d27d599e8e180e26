import type { TableNames } from "./schema.js";

const CLEAR_LEASE =
  "lease_epoch = NULL, lease_owner = NULL, lease_expires_at = NULL, lease_taken_over = false";

/** What a claim hands back: the recipient's fields, not the lease's (parsing fewer columns is cheaper). */
const CLAIMED_COLUMNS = `r.seq, r.broadcast_id, r.recipient_id, r.chat_id, r.chat_username, r.variables, r.state,
  r.attempts, r.last_error, r.last_error_kind, r.next_attempt_at, r.message_id, r.lease_taken_over`;

/** Every fixed statement of one store, its table names filled in. */
export function statements(t: TableNames) {
  const B = t.broadcasts;
  const R = t.recipients;
  const FL = t.freshLeases;
  /**
   * A lease writes only columns no index holds, so PostgreSQL can update the row in place (a HOT
   * update, helped by the table's fill factor) without touching an index; claims skip the
   * recipients under a live lease instead.
   */
  const claim = (onlyFailed: boolean) => `
    WITH picked AS (
      SELECT seq FROM ${R}
      WHERE broadcast_id = $1 AND NOT fresh AND state = 'pending' AND due_at <= $2
        AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
        ${onlyFailed ? "AND last_error IS NOT NULL" : ""}
      ORDER BY due_at, seq
      LIMIT $3
      FOR UPDATE SKIP LOCKED)
    UPDATE ${R} AS r
    SET lease_taken_over = r.lease_epoch IS NOT NULL,
        lease_epoch = $4, lease_owner = $5, lease_expires_at = $6
    FROM picked
    WHERE r.broadcast_id = $1 AND r.seq = picked.seq
    RETURNING ${CLAIMED_COLUMNS}`;
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
   * Fresh recipients from the broadcast's cursor, leased as one range: the cursor moves, the rows
   * take the lease, and the range is noted so that it is found again once expired, all in one
   * statement. The broadcast's row lock keeps two claims' ranges apart.
   */
  const claimFresh = `
    WITH moved AS (
      UPDATE ${B} AS b SET fresh_cursor = least(old.start + $2, b.recipient_count)
      FROM (SELECT id, fresh_cursor AS start FROM ${B} WHERE id = $1::bigint FOR UPDATE) AS old
      WHERE b.id = old.id AND old.start < b.recipient_count
      RETURNING old.start AS start, b.fresh_cursor AS stop),
    noted AS (
      INSERT INTO ${FL} (broadcast_id, epoch, first_seq, last_seq, expires_at)
      SELECT $1::bigint, $3, start, stop - 1, $5 FROM moved)
    UPDATE ${R} AS r
    SET lease_taken_over = false, lease_epoch = $3, lease_owner = $4, lease_expires_at = $5
    FROM moved
    WHERE r.broadcast_id = $1::bigint AND r.seq >= moved.start AND r.seq < moved.stop
    RETURNING ${CLAIMED_COLUMNS}`;
  const retriable = "AND (last_error_kind IS NULL OR last_error_kind <> 'permanent')";
  /**
   * Failed recipients, spelled so the partial index over recipients carrying an error serves them
   * (that index reads no `state`, so settling a recipient never blocks an in-place update).
   */
  const FAILED = "last_error_kind IS NOT NULL AND state = 'failed'";
  const counters = "sent_count = sent_count + $2, failed_count = failed_count + $3, version = version + 1";
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
      UPDATE ${B} SET recipient_count = recipient_count + $2, version = version + 1
      WHERE id = $1::bigint RETURNING *`,
    setRecipientCount: `UPDATE ${B} SET recipient_count = $2 WHERE id = $1::bigint RETURNING *`,
    getBroadcast: `SELECT * FROM ${B} WHERE id = $1::bigint`,
    lockBroadcast: `SELECT * FROM ${B} WHERE id = $1::bigint FOR UPDATE`,
    statusOf: `SELECT status FROM ${B} WHERE id = $1::bigint`,
    listBroadcasts: `SELECT * FROM ${B} WHERE id < $1::bigint ORDER BY id DESC LIMIT $2`,
    listBroadcastsByStatus: `SELECT * FROM ${B} WHERE status = $1 AND id < $2::bigint ORDER BY id DESC LIMIT $3`,
    listRecipients: `SELECT * FROM ${R} WHERE broadcast_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
    listRecipientsByState: `
      SELECT * FROM ${R} WHERE broadcast_id = $1 AND state = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
    /** Failed recipients carry an error: the partial index over those serves the listing. */
    listFailedRecipients: `
      SELECT * FROM ${R} WHERE broadcast_id = $1 AND ${FAILED}
        AND seq > $2 ORDER BY seq LIMIT $3`,
    findDue: `
      SELECT * FROM ${B} WHERE status = 'scheduled' AND scheduled_at <= $1
      ORDER BY scheduled_at, id LIMIT $2`,
    nextEpoch: `UPDATE ${B} SET epoch_counter = epoch_counter + 1 WHERE id = $1::bigint RETURNING epoch_counter`,
    /** Fresh leases past their expiry: usually none, so a claim pays one index lookup for them. */
    expiredFreshLeases: `
      SELECT epoch, first_seq, last_seq FROM ${FL} WHERE broadcast_id = $1::bigint AND expires_at <= $2`,
    /**
     * What an expired fresh lease ($2, over positions $3..$4) still holds joins the claim index, its
     * old lease still on it, where the claim that follows finds it. Rows a late record holds are
     * skipped (never waited for, so the two never deadlock); the lease stays noted until a later
     * claim moves them.
     */
    requeueFreshLease: `
      UPDATE ${R} SET fresh = false
      WHERE broadcast_id = $1::bigint AND seq IN (
        SELECT seq FROM ${R}
        WHERE broadcast_id = $1::bigint AND seq BETWEEN $3 AND $4 AND lease_epoch = $2
          AND fresh AND state = 'pending'
        FOR UPDATE SKIP LOCKED)`,
    claimFresh,
    /**
     * Forgets a fresh lease once it holds nobody fresh. A scalar subquery, so that it stays one
     * primary-key range read per lease whatever the planner's statistics say.
     */
    forgetFreshLease: `
      DELETE FROM ${FL} AS l WHERE l.broadcast_id = $1::bigint AND l.epoch = $2
        AND (SELECT 1 FROM ${R} AS r
          WHERE r.broadcast_id = $1::bigint AND r.seq BETWEEN l.first_seq AND l.last_seq
            AND r.lease_epoch = $2 AND r.fresh AND r.state = 'pending' LIMIT 1) IS NULL`,
    claim: claim(false),
    claimOnlyFailed: claim(true),
    nextDue: nextDue(false),
    nextDueOnlyFailed: nextDue(true),
    /**
     * One statement for a whole batch: the outcomes arrive as parallel arrays. A row changes only
     * while the batch's epoch still holds it; the caller compares the count and rolls back.
     * `= ANY` on the unique index keeps the rows an index lookup however stale the statistics.
     *
     * A delivery clears the error of an earlier attempt. What that costs: `last_error_kind` is read
     * by the predicate of the index over recipients carrying an error, so a row whose kind goes
     * from set to NULL leaves that index and its update is not HOT. A first delivery writes NULL
     * over NULL, which PostgreSQL sees as unchanged: the hot path stays in place. Only recipients
     * delivered after an error pay, and those (retried, reset by a manual retry) already left the
     * claim index's range for `'infinity'` in the same update, which is never HOT either.
     */
    record: `
      UPDATE ${R} AS r SET
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
                  $8::text[], $9::bool[], $10::bigint[], $11::text[])
        AS v(recipient_id, op, attempts, error, kind, next_at, message_id, moved, chat_id, chat_username)
      WHERE r.broadcast_id = $1 AND r.recipient_id = ANY($2::text[]) AND r.recipient_id = v.recipient_id
        AND r.lease_epoch = $12
      RETURNING r.recipient_id`,
    /** Extends the lease of those recipients ($2, encoded ids) the epoch ($3) still holds, to $4. */
    renewLease: `
      UPDATE ${R} SET lease_expires_at = greatest(lease_expires_at, $4)
      WHERE broadcast_id = $1::bigint AND recipient_id = ANY($2::text[]) AND lease_epoch = $3
        AND state = 'pending'
      RETURNING recipient_id`,
    renewFreshLease: `
      UPDATE ${FL} SET expires_at = greatest(expires_at, $3) WHERE broadcast_id = $1::bigint AND epoch = $2`,
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
    addCounts: `UPDATE ${B} SET ${counters} WHERE id = $1::bigint RETURNING *`,
    /** Counters plus the per-error counts ($4, a delta) and the error log ($5 appended, $6 kept). */
    addCountsAndErrors: `
      UPDATE ${B} SET ${counters},
        error_counts = (
          SELECT COALESCE(jsonb_object_agg(k, n), '{}'::jsonb) FROM (
            SELECT k, sum(n) AS n FROM (
              SELECT key AS k, value::bigint AS n FROM jsonb_each_text(error_counts)
              UNION ALL
              SELECT key, value::bigint FROM jsonb_each_text($4::jsonb)
            ) AS counted GROUP BY k HAVING sum(n) > 0
          ) AS merged),
        error_log = (
          SELECT COALESCE(jsonb_agg(entry ORDER BY position), '[]'::jsonb) FROM (
            SELECT entry, position
            FROM jsonb_array_elements(error_log || $5::jsonb) WITH ORDINALITY AS e(entry, position)
            ORDER BY position DESC LIMIT $6
          ) AS kept)
      WHERE id = $1::bigint RETURNING *`,
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
