import BetterSqlite3, { type Database, type Statement } from "better-sqlite3";
import type { RecipientOutcome } from "../../core/outcome.js";
import type { BroadcastPatch } from "../../core/transitions.js";
import {
  type Broadcast,
  type BroadcastStatus,
  type FailureKind,
  MAX_NAMED_DUPLICATES,
  type NewRecipient,
  type Page,
  type Recipient,
  type RecipientId,
} from "../../core/types.js";
import type {
  AppendRecipientsResult,
  BroadcastActivity,
  BroadcastStore,
  ClaimedRecipient,
  ClaimRequest,
  ClaimResult,
  ListBroadcastsQuery,
  ListRecipientsQuery,
  NewBroadcast,
  RecipientSource,
  RecordOutcomesRequest,
  RecordOutcomesResult,
  RenewLeaseRequest,
  RenewLeaseResult,
  ResetFailedRequest,
  ResetFailedResult,
  UpdateResult,
} from "../../ports/store.js";
import {
  decodeMessageId,
  decodeRecipientId,
  encodeId,
  encodeJson,
  encodeMessageId,
  joinChatId,
  parseVariables,
  splitChatId,
} from "../sql-shared/codec.js";
import { decodeCursor, encodeCursor } from "../sql-shared/cursor.js";
import { errorCountsJson } from "../sql-shared/data-record.js";
import {
  appendToErrorLog,
  batchEffect,
  effectiveLogLimit,
  mergeErrorCounts,
} from "../sql-shared/outcomes.js";
import { type PatchColumn, patchColumns, patchShape } from "../sql-shared/patch.js";
import {
  type BroadcastRow,
  jsonText,
  type StoredErrorLogEntry,
  toBroadcast,
  toRecipient,
} from "../sql-shared/rows.js";
import { isAsyncOnly, toInsertRow } from "../sql-shared/source.js";
import { migrateSqlite } from "./schema.js";
import {
  type ClaimedRow,
  type FreshRow,
  prepareStatements,
  recordDeliveredBatchSql,
  recordDeliveredRunSql,
  type SqliteStatements,
  spanTreeValues,
} from "./statements.js";
import { createSqliteWebhookOutbox } from "./webhook-outbox.js";

export interface SqliteStoreSettings {
  /** Run pending migrations on first use (default `true`). With `false`, call `migrate()` yourself. */
  readonly migrate?: boolean;
  /** Keep at most this many error-log entries per broadcast, whatever a caller asks for. */
  readonly errorLogLimit?: number;
}

export type SqliteStoreOptions = SqliteStoreSettings &
  (
    | { /** A database file; created if missing, opened in WAL mode. */ readonly filename: string }
    | { /** A connection the host opened and keeps; `close()` leaves it open. */ readonly db: Database }
  );

export interface SqliteStore extends BroadcastStore {
  /** Applies pending migrations (idempotent); returns the versions this call applied. */
  migrate(): Promise<readonly number[]>;
  /** Waits for a running creation, then closes the connection if the store opened it. */
  close(): Promise<void>;
}

/** Thrown inside a transaction to roll it back; never escapes the store. */
class LeaseLost {
  constructor(readonly recipientIds: RecipientOutcome["recipientId"][]) {}
}

/** Thrown inside an append's transaction to roll it back with an answer. */
class AppendRefused {
  constructor(readonly answer: AppendRecipientsResult) {}
}

/** An append under way, inside its transaction. */
interface Appending {
  readonly broadcastId: number;
  nextSeq: number;
  added: number;
  /** Ids refused as duplicates, each once, at most MAX_NAMED_DUPLICATES. */
  readonly duplicates: Set<RecipientId>;
}

/** Thrown when a batched write changed fewer rows than it named: the batch is redone row by row. */
class BatchMismatch {}

/** Positions of the recipients of the newest leases this store handed out, kept for this many. */
const REMEMBERED_LEASES = 256;
/** Scattered delivered recipients written per statement (three bound values each). */
const DELIVERED_CHUNK = 500;
/**
 * Delivered recipients at consecutive positions are written a run per statement, at most
 * `MAX_RUN_ROWS` each (a power of two: see `recordDeliveredRunSql`); a run of fewer than
 * `MIN_RUN_ROWS` is written with the scattered ones, as a statement per run pays off only for
 * long runs (a claim's recipients, recorded in about the order they were sent).
 */
const MAX_RUN_ROWS = 1024;
const MIN_RUN_ROWS = 8;

/** Where a lease's recipients sit (stored recipient id → position), and how many are not recorded yet. */
interface LeasedPositions {
  readonly byRecipient: Map<string, number>;
  unrecorded: number;
}

/** Delivered outcomes at known positions, as parallel arrays (no object per recipient). */
interface DeliveredAt {
  readonly positions: number[];
  readonly attempts: number[];
  /** Encoded as stored. */
  readonly messageIds: (string | null)[];
}

function ascending(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i += 1) if (values[i]! <= values[i - 1]!) return false;
  return true;
}

const MAX_ID = Number.MAX_SAFE_INTEGER;
const time = (date: Date | null): number | null => (date === null ? null : date.getTime());

/** better-sqlite3 binds booleans poorly and Dates not at all: give it numbers and text. */
function bindable(column: PatchColumn): unknown {
  return column.value instanceof Date ? column.value.getTime() : column.value;
}

/** A row read by a claim, before its lease was written: a lease still on it is an expired one, taken over. */
function claimedRecipient(broadcastId: number, row: ClaimedRow): ClaimedRecipient {
  const [, recipientId, chat, variables, attempts, leaseEpoch, earlier] = row;
  const [lastError, kind, nextAttemptAt, messageId] =
    earlier === null
      ? [null, null, null, null]
      : (JSON.parse(earlier) as [string | null, string | null, number | null, string | null]);
  return {
    broadcastId,
    recipientId: decodeRecipientId(recipientId),
    chatId: typeof chat === "number" ? joinChatId(chat, null) : joinChatId(null, chat),
    variables: parseVariables(variables),
    state: "pending",
    attempts,
    lastError,
    lastErrorKind: kind as FailureKind | null,
    nextAttemptAt: nextAttemptAt === null ? null : new Date(nextAttemptAt),
    messageId: decodeMessageId(messageId),
    takenOver: leaseEpoch !== null,
  };
}

/** A fresh recipient: never handed out, so no trace of an attempt and no lease to take over. */
function freshRecipient(broadcastId: number, row: FreshRow): ClaimedRecipient {
  const [, recipientId, chat, variables, attempts] = row;
  return {
    broadcastId,
    recipientId: decodeRecipientId(recipientId),
    chatId: typeof chat === "number" ? joinChatId(chat, null) : joinChatId(null, chat),
    variables: parseVariables(variables),
    state: "pending",
    attempts,
    lastError: null,
    lastErrorKind: null,
    nextAttemptAt: null,
    messageId: null,
    takenOver: false,
  };
}

function openDatabase(filename: string): Database {
  const db = new BetterSqlite3(filename);
  // First, so that switching to WAL waits for another process opening the same file.
  db.pragma("busy_timeout = 5000");
  if (filename !== ":memory:" && filename !== "") db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  // A million-recipient broadcast is a few hundred megabytes: keep more of its hot pages cached.
  db.pragma("cache_size = -65536");
  return db;
}

/**
 * A `BroadcastStore` on SQLite (better-sqlite3). better-sqlite3 is synchronous, so every method
 * does all its work inside one `BEGIN IMMEDIATE` transaction without yielding: it is atomic
 * towards this process and towards other processes sharing the file. The one exception is a
 * creation or an append from an async iterable, which must await the source between chunks: it
 * holds its transaction open across those awaits, and every other method of this store waits for it.
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const owned = "filename" in options;
  const db = "filename" in options ? openDatabase(options.filename) : options.db;
  const logCap = options.errorLogLimit;
  let statements: SqliteStatements | null = null;
  let migrated = false;
  const patchStatements = new Map<string, Statement<unknown[], BroadcastRow>>();
  /** A creation or an append reading an async source: its transaction is open until it settles. */
  let streaming: Promise<unknown> | null = null;
  /**
   * Where the recipients of a recent lease sit (`broadcast:epoch` → stored recipient id →
   * position), so recording its outcomes can address rows by primary key in one statement. Only
   * a shortcut: an outcome whose lease is not here is recorded by recipient id, as before.
   */
  const leasedPositions = new Map<string, LeasedPositions>();
  const batchStatements = new Map<number, Statement<unknown[], unknown>>();
  /** Run statements by leaf count: at most eight (8 to 1024). */
  const runStatements = new Map<number, Statement<unknown[], unknown>>();
  const leaseKey = (broadcastId: number, epoch: number) => `${broadcastId}:${epoch}`;
  const outbox = createSqliteWebhookOutbox(db);

  function rememberLease(
    broadcastId: number,
    epoch: number,
    queued: readonly ClaimedRow[],
    fresh: readonly FreshRow[],
  ): void {
    const byRecipient = new Map<string, number>();
    for (const row of queued) byRecipient.set(row[1], row[0]);
    for (const row of fresh) byRecipient.set(row[1], row[0]);
    leasedPositions.set(leaseKey(broadcastId, epoch), { byRecipient, unrecorded: byRecipient.size });
    if (leasedPositions.size > REMEMBERED_LEASES) {
      leasedPositions.delete(leasedPositions.keys().next().value!);
    }
  }

  /**
   * A claim's positions are forgotten once as many outcomes as it had recipients are recorded
   * (often in two writes). Counted, not looked up: forgetting early only costs the shortcut.
   */
  function forgetPositions(request: RecordOutcomesRequest): void {
    const key = leaseKey(request.broadcastId, request.epoch);
    const leased = leasedPositions.get(key);
    if (leased === undefined) return;
    leased.unrecorded -= request.outcomes.length;
    if (leased.unrecorded <= 0) leasedPositions.delete(key);
  }

  function deliveredBatch(rows: number): Statement<unknown[], unknown> {
    let statement = batchStatements.get(rows);
    if (statement === undefined) {
      statement = db.prepare(recordDeliveredBatchSql(rows));
      if (batchStatements.size >= 8) batchStatements.delete(batchStatements.keys().next().value!);
      batchStatements.set(rows, statement);
    }
    return statement;
  }

  function deliveredRun(leaves: number): Statement<unknown[], unknown> {
    let statement = runStatements.get(leaves);
    if (statement === undefined) {
      statement = db.prepare(recordDeliveredRunSql(leaves));
      runStatements.set(leaves, statement);
    }
    return statement;
  }

  /**
   * Writes delivered outcomes by position; throws BatchMismatch if a row is no longer held. Runs
   * of consecutive positions with the same attempt count (a claim's recipients, recorded in about
   * the order they were sent) take one statement each; the rest are joined in chunks.
   */
  function recordDeliveredByPosition(
    broadcastId: number,
    epoch: number,
    heldFirst: number,
    heldLast: number,
    delivered: DeliveredAt,
  ): void {
    const { positions, attempts, messageIds } = delivered;
    const order = positions.map((_, i) => i);
    if (!ascending(positions)) order.sort((a, b) => positions[a]! - positions[b]!);
    const scattered: unknown[] = [];
    for (let start = 0; start < order.length; ) {
      let end = start + 1;
      while (
        end < order.length &&
        end - start < MAX_RUN_ROWS &&
        attempts[order[end]!] === attempts[order[start]!] &&
        positions[order[end]!] === positions[order[end - 1]!]! + 1
      ) {
        end += 1;
      }
      if (end - start < MIN_RUN_ROWS) {
        for (let k = start; k < end; k += 1) {
          const i = order[k]!;
          scattered.push(positions[i], attempts[i], messageIds[i]);
        }
      } else {
        const rows = end - start;
        const first = positions[order[start]!]!;
        const ids = order.slice(start, end).map((i) => messageIds[i]!);
        let leaves = MIN_RUN_ROWS;
        while (leaves < rows) leaves *= 2;
        const values: unknown[] = [attempts[order[start]!]];
        spanTreeValues(first, ids, leaves, values);
        values.push(broadcastId, first, first + rows - 1, epoch, heldFirst, heldLast);
        if (deliveredRun(leaves).run(...values).changes !== rows) throw new BatchMismatch();
      }
      start = end;
    }
    const rows = scattered.length / 3;
    for (let start = 0; start < rows; start += DELIVERED_CHUNK) {
      const size = Math.min(DELIVERED_CHUNK, rows - start);
      const chunk = scattered.slice(start * 3, (start + size) * 3);
      const changed = deliveredBatch(size).run(...chunk, broadcastId, epoch, heldFirst, heldLast).changes;
      if (changed !== size) throw new BatchMismatch();
    }
  }

  const ready = (): SqliteStatements => {
    if (statements !== null) return statements;
    if (options.migrate !== false && !migrated) {
      migrateSqlite(db);
      migrated = true;
    }
    statements = prepareStatements(db);
    return statements;
  };

  /**
   * The statements, inside a transaction. Public methods call `ready()` before they open one, so
   * that a migration never runs inside (and rolls back with) a caller's failed transaction.
   */
  const prepared = (): SqliteStatements => {
    if (statements === null) throw new Error("broadcastkit: SQLite store used before it was ready");
    return statements;
  };

  /**
   * Runs `work` once no creation holds the connection. The check and the work happen in one
   * synchronous step: no other call can start a transaction in between.
   */
  async function exclusive<T>(work: (s: SqliteStatements) => T): Promise<T> {
    while (streaming !== null) await streaming.catch(() => undefined);
    return work(ready());
  }

  const readBroadcast = (row: BroadcastRow | undefined): Broadcast | null =>
    row === undefined ? null : toBroadcast(row, jsonText);

  function casStatement(columns: readonly PatchColumn[]) {
    const shape = patchShape(columns);
    let statement = patchStatements.get(shape);
    if (statement === undefined) {
      const sets = columns.map((c) => `${c.column} = ?`);
      statement = db.prepare<unknown[], BroadcastRow>(
        `UPDATE broadcasts SET ${[...sets, "version = version + 1"].join(", ")}
         WHERE id = ? AND status = ? RETURNING *`,
      );
      patchStatements.set(shape, statement);
    }
    return statement;
  }

  /** Compare-and-set, journaling its webhook event; runs inside the caller's transaction. */
  function compareAndSet(
    id: number,
    expected: BroadcastStatus,
    patch: BroadcastPatch,
    at?: Date,
  ): UpdateResult {
    const s = prepared();
    const columns = patchColumns(patch);
    const row = casStatement(columns).get(...columns.map(bindable), id, expected);
    if (row !== undefined) {
      const broadcast = toBroadcast(row, jsonText);
      outbox.journal(expected, broadcast, at);
      return { type: "updated", broadcast };
    }
    const current = s.statusOf.get(id);
    return current === undefined
      ? { type: "not_found" }
      : { type: "status_changed", actual: current.status as BroadcastStatus };
  }

  const insertHeader = (input: NewBroadcast): number =>
    prepared().insertBroadcast.get(
      encodeJson(input.createdBy),
      input.message.text,
      input.message.parseMode ?? null,
      input.status,
      input.errorThreshold,
      input.createdAt.getTime(),
      time(input.scheduledAt),
    )!.id;

  function insertRecipient(broadcastId: number, seq: number, recipient: NewRecipient): void {
    const row = toInsertRow(recipient);
    prepared().insertRecipient.run(
      broadcastId,
      seq,
      row.recipientId,
      row.chatId,
      row.chatUsername,
      row.variables,
    );
  }

  const finishCreation = (id: number, count: number): Broadcast =>
    toBroadcast(prepared().setRecipientCount.get(count, id)!, jsonText);

  const createFromIterable = db.transaction((input: NewBroadcast, source: Iterable<NewRecipient>) => {
    const id = insertHeader(input);
    let seq = 0;
    if (Array.isArray(source)) {
      const list = source as readonly NewRecipient[];
      for (; seq < list.length; seq += 1) insertRecipient(id, seq, list[seq]!);
    } else {
      for (const recipient of source) insertRecipient(id, seq++, recipient);
    }
    return finishCreation(id, seq);
  });

  async function createFromAsyncIterable(
    input: NewBroadcast,
    source: AsyncIterable<NewRecipient>,
  ): Promise<Broadcast> {
    db.exec("BEGIN IMMEDIATE");
    try {
      const id = insertHeader(input);
      let seq = 0;
      for await (const recipient of source) insertRecipient(id, seq++, recipient);
      const created = finishCreation(id, seq);
      db.exec("COMMIT");
      return created;
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Starts an append inside its transaction, or answers why there is none. */
  function startAppend(broadcastId: number): Appending | AppendRecipientsResult {
    const row = prepared().getBroadcast.get(broadcastId);
    if (row === undefined) return { type: "not_found" };
    if (row.status !== "draft") return { type: "status_changed", actual: row.status as BroadcastStatus };
    return { broadcastId, nextSeq: Number(row.recipient_count), added: 0, duplicates: new Set() };
  }

  /** Inserts one recipient; `false` once enough duplicates are named that reading on is pointless. */
  function appendOne(appending: Appending, recipient: NewRecipient): boolean {
    const row = toInsertRow(recipient);
    const { broadcastId } = appending;
    const s = prepared();
    const inserted = s.appendRecipient.run(
      broadcastId,
      appending.nextSeq,
      row.recipientId,
      row.chatId,
      row.chatUsername,
      row.variables,
    ).changes;
    if (inserted === 1) {
      appending.nextSeq += 1;
      appending.added += 1;
    } else {
      appending.duplicates.add(recipient.recipientId);
    }
    return appending.duplicates.size < MAX_NAMED_DUPLICATES;
  }

  function finishAppend(appending: Appending): AppendRecipientsResult {
    if (appending.duplicates.size > 0) {
      throw new AppendRefused({ type: "duplicate", recipientIds: [...appending.duplicates] });
    }
    const row = prepared().addRecipientCount.get(appending.added, appending.broadcastId)!;
    return { type: "appended", broadcast: toBroadcast(row, jsonText) };
  }

  const appendFromIterable = db.transaction(
    (broadcastId: number, source: Iterable<NewRecipient>): AppendRecipientsResult => {
      const appending = startAppend(broadcastId);
      if (!("duplicates" in appending)) return appending;
      for (const recipient of source) if (!appendOne(appending, recipient)) break;
      return finishAppend(appending);
    },
  );

  async function appendFromAsyncIterable(
    broadcastId: number,
    source: AsyncIterable<NewRecipient>,
  ): Promise<AppendRecipientsResult> {
    db.exec("BEGIN IMMEDIATE");
    try {
      const appending = startAppend(broadcastId);
      if ("duplicates" in appending) {
        for await (const recipient of source) if (!appendOne(appending, recipient)) break;
      }
      const answer = "duplicates" in appending ? finishAppend(appending) : appending;
      db.exec("COMMIT");
      return answer;
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      throw error;
    }
  }

  /** What expired fresh leases still hold joins the claim index, where the claim below finds it. */
  function requeueExpiredFreshLeases(s: SqliteStatements, broadcastId: number, now: number): void {
    for (const lease of s.expiredFreshLeases.all(broadcastId, now)) {
      s.requeueFreshLease.run(
        lease.epoch,
        lease.expires_at,
        lease.owner,
        broadcastId,
        lease.first_seq,
        lease.last_seq,
        lease.epoch,
      );
      s.deleteFreshLease.run(broadcastId, lease.epoch);
    }
  }

  /**
   * Takes what waited in the claim index first (retries due, released recipients, expired
   * leases), then fresh recipients from the broadcast's cursor, as one range leased by its row in
   * `broadcast_fresh_leases` alone: their own rows are not written until their outcomes are.
   */
  const claimTx = db.transaction((request: ClaimRequest): ClaimResult => {
    const s = prepared();
    const { broadcastId, owner } = request;
    const start = s.claimStart.get(broadcastId);
    if (start === undefined) return { epoch: 0, recipients: [], retryAt: null, status: null };
    const epoch = start.epoch_counter + 1;
    const status = start.status as BroadcastStatus;
    let cursor = start.fresh_cursor;
    const now = request.now.getTime();
    const expiresAt = now + request.leaseMs;
    const limit = Math.max(0, Math.floor(request.limit));
    requeueExpiredFreshLeases(s, broadcastId, now);

    const claimable = request.onlyFailed ? s.claimableOnlyFailed : s.claimable;
    const queued = limit === 0 ? [] : claimable.all(broadcastId, now, now, limit);
    if (queued.length > 0) {
      queued.sort((a, b) => a[0] - b[0]);
      const first = queued[0]![0];
      const last = queued[queued.length - 1]![0];
      if (last - first + 1 === queued.length) {
        s.leaseRange.run(epoch, owner, expiresAt, broadcastId, first, last);
      } else {
        const lease = request.onlyFailed ? s.leaseOnlyFailed : s.lease;
        lease.run(epoch, owner, expiresAt, broadcastId, broadcastId, now, now, limit);
      }
    }
    const wanted = limit - queued.length;
    const fresh = request.onlyFailed || wanted <= 0 ? [] : s.freshRows.all(broadcastId, cursor, wanted);
    if (fresh.length > 0) {
      const first = fresh[0]![0];
      const last = fresh[fresh.length - 1]![0];
      s.insertFreshLease.run(broadcastId, epoch, first, last, expiresAt, owner);
      cursor = last + 1;
    }
    s.moveCursor.run(epoch, cursor, broadcastId);

    if (queued.length + fresh.length > 0) {
      rememberLease(broadcastId, epoch, queued, fresh);
      const recipients = queued.map((row) => claimedRecipient(broadcastId, row));
      for (const row of fresh) recipients.push(freshRecipient(broadcastId, row));
      return { epoch, recipients, retryAt: null, status };
    }
    const nextDue = request.onlyFailed ? s.nextDueOnlyFailed : s.nextDue;
    const due = nextDue.get(broadcastId, now, broadcastId, now, broadcastId)?.at ?? null;
    return { epoch, recipients: [], retryAt: due === null ? null : new Date(Math.max(due, now)), status };
  });

  const recordTx = db.transaction(
    (request: RecordOutcomesRequest, batched: boolean): RecordOutcomesResult => {
      const s = prepared();
      const { broadcastId, epoch, outcomes } = request;
      if (s.statusOf.get(broadcastId) === undefined) return { type: "not_found" };
      const effect = batchEffect(outcomes, request.now);
      const range = s.freshRange.get(broadcastId, epoch);
      /** The epoch's fresh range, or an empty one: what `HELD_BY` reads after the epoch. */
      const first = range?.first_seq ?? 1;
      const last = range?.last_seq ?? 0;
      const positions = batched ? leasedPositions.get(leaseKey(broadcastId, epoch))?.byRecipient : undefined;
      /** Delivered outcomes at a known position. */
      const delivered: DeliveredAt = { positions: [], attempts: [], messageIds: [] };
      const lost: RecipientOutcome["recipientId"][] = [];
      for (let i = 0; i < outcomes.length; i += 1) {
        const outcome = outcomes[i]!;
        const key = effect.keys[i]!;
        if (outcome.type !== "released" && outcome.chatId !== undefined) {
          const chat = splitChatId(outcome.chatId);
          s.moveChat.run(chat.chatId, chat.chatUsername, broadcastId, key, epoch, first, last);
        }
        let changes: number;
        switch (outcome.type) {
          case "delivered": {
            const position = positions?.get(key);
            if (position !== undefined) {
              delivered.positions.push(position);
              delivered.attempts.push(outcome.attempts);
              delivered.messageIds.push(encodeMessageId(outcome.messageId));
              continue;
            }
            changes = s.recordDelivered.run(
              outcome.attempts,
              encodeMessageId(outcome.messageId),
              broadcastId,
              key,
              epoch,
              first,
              last,
            ).changes;
            break;
          }
          case "failed":
            changes = s.recordFailed.run(
              outcome.attempts,
              outcome.error,
              outcome.kind,
              broadcastId,
              key,
              epoch,
              first,
              last,
            ).changes;
            break;
          case "retry": {
            const at = outcome.nextAttemptAt.getTime();
            changes = s.recordRetry.run(
              outcome.attempts,
              outcome.error,
              outcome.kind,
              at,
              at,
              broadcastId,
              key,
              epoch,
              first,
              last,
            ).changes;
            break;
          }
          case "released":
            changes = s.recordReleased.run(broadcastId, key, epoch, first, last).changes;
            break;
        }
        if (changes !== 1) lost.push(outcome.recipientId);
      }
      if (lost.length > 0) throw new LeaseLost(lost);
      if (delivered.positions.length > 0) {
        recordDeliveredByPosition(broadcastId, epoch, first, last, delivered);
      }
      if (effect.logEntries.length > 0) {
        const current = s.errorsOf.get(broadcastId)!;
        const limit = effectiveLogLimit(request.errorLogLimit, logCap);
        const counts = mergeErrorCounts(JSON.parse(current.error_counts), effect.errorCountDelta);
        const log =
          effect.logEntries.length >= limit
            ? appendToErrorLog([], effect.logEntries, limit)
            : appendToErrorLog(
                JSON.parse(current.error_log) as StoredErrorLogEntry[],
                effect.logEntries,
                limit,
              );
        s.setErrors.run(errorCountsJson(counts), JSON.stringify(log), broadcastId);
      }
      s.forgetFreshLease.run(broadcastId, epoch);
      const row = s.addCounts.get(effect.sentDelta, effect.failedDelta, broadcastId)!;
      return { type: "recorded", broadcast: toBroadcast(row, jsonText) };
    },
  );

  const renewTx = db.transaction((request: RenewLeaseRequest): RenewLeaseResult => {
    const s = prepared();
    const { broadcastId, epoch } = request;
    const until = request.now.getTime() + request.leaseMs;
    const range = s.renewFreshLease.get(until, broadcastId, epoch);
    const lost = request.recipientIds.filter((recipientId) => {
      const key = encodeId(recipientId);
      if (s.renewLease.run(until, broadcastId, key, epoch).changes === 1) return false;
      return (
        range === undefined ||
        s.heldByRange.get(broadcastId, key, range.first_seq, range.last_seq) === undefined
      );
    });
    return { lost };
  });

  const resetTx = db.transaction((request: ResetFailedRequest): ResetFailedResult => {
    const s = prepared();
    const { broadcastId, includePermanent } = request;
    const current = s.getBroadcast.get(broadcastId);
    if (current === undefined) return { type: "not_found" };
    const counted = s.countFailed.get(broadcastId)!;
    const retriable = includePermanent ? counted.failed : counted.failed - counted.permanent;
    const skippedCount = counted.failed - retriable;
    const status = current.status as BroadcastStatus;
    if (retriable === 0) {
      return { type: "reset", broadcast: toBroadcast(current, jsonText), retriedCount: 0, skippedCount };
    }
    if (!request.allowedFrom.includes(status)) return { type: "status_changed", actual: status };
    const lowered = new Map<string, number>();
    for (const { error, n } of (includePermanent ? s.failedErrorsAll : s.failedErrors).all(broadcastId)) {
      lowered.set(error ?? "", -n);
    }
    const retriedCount = (includePermanent ? s.resetFailedAll : s.resetFailed).run(broadcastId).changes;
    const counts = mergeErrorCounts(JSON.parse(String(current.error_counts)), lowered);
    s.lowerFailed.run(retriedCount, errorCountsJson(counts), broadcastId);
    const updated = compareAndSet(broadcastId, status, request.patch, request.at);
    if (updated.type !== "updated") throw new Error("broadcast changed inside its own transaction");
    return { type: "reset", broadcast: updated.broadcast, retriedCount, skippedCount };
  });

  const updateTx = db.transaction(compareAndSet);

  const listRecipientsTx = db.transaction(
    (broadcastId: number, query: ListRecipientsQuery): Page<Recipient> | null => {
      const s = prepared();
      if (s.statusOf.get(broadcastId) === undefined) return null;
      const after = query.cursor === undefined ? -1 : decodeCursor(query.cursor, "r");
      const limit = Math.max(0, Math.floor(query.limit));
      if (limit === 0) return { items: [], nextCursor: null };
      const rows =
        query.status === undefined
          ? s.listRecipients.all(broadcastId, after, limit + 1)
          : query.status === "failed"
            ? s.listFailedRecipients.all(broadcastId, after, limit + 1)
            : s.listRecipientsByState.all(broadcastId, query.status, after, limit + 1);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page[page.length - 1];
      return {
        items: page.map(toRecipient),
        nextCursor: more && last !== undefined ? encodeCursor("r", Number(last.seq)) : null,
      };
    },
  );

  return {
    async createBroadcast(input: NewBroadcast, source: RecipientSource): Promise<Broadcast> {
      // The running creation comes back boxed: returned bare, `exclusive` would await it.
      const started = await exclusive((): Broadcast | { readonly running: Promise<Broadcast> } => {
        if (!isAsyncOnly(source)) return createFromIterable.immediate(input, source);
        const running = createFromAsyncIterable(input, source);
        streaming = running;
        return { running };
      });
      if (!("running" in started)) return started;
      try {
        return await started.running;
      } finally {
        if (streaming === started.running) streaming = null;
      }
    },

    async appendRecipients(broadcastId: number, source: RecipientSource): Promise<AppendRecipientsResult> {
      try {
        // As for creation: an async source holds the connection until it is read, boxed.
        const started = await exclusive(
          (): AppendRecipientsResult | { readonly running: Promise<AppendRecipientsResult> } => {
            if (!isAsyncOnly(source)) return appendFromIterable.immediate(broadcastId, source);
            const running = appendFromAsyncIterable(broadcastId, source);
            streaming = running;
            return { running };
          },
        );
        if (!("running" in started)) return started;
        try {
          return await started.running;
        } finally {
          if (streaming === started.running) streaming = null;
        }
      } catch (error) {
        if (error instanceof AppendRefused) return error.answer;
        throw error;
      }
    },

    getBroadcast(id: number): Promise<Broadcast | null> {
      return exclusive((s) => readBroadcast(s.getBroadcast.get(id)));
    },

    listBroadcasts(query: ListBroadcastsQuery): Promise<Page<Broadcast>> {
      return exclusive((s) => {
        const before = query.cursor === undefined ? MAX_ID : decodeCursor(query.cursor, "b");
        const limit = Math.max(0, Math.floor(query.limit));
        if (limit === 0) return { items: [], nextCursor: null };
        const rows =
          query.status === undefined
            ? s.listBroadcasts.all(before, limit + 1)
            : s.listBroadcastsByStatus.all(query.status, before, limit + 1);
        const more = rows.length > limit;
        const items = (more ? rows.slice(0, limit) : rows).map((row) => toBroadcast(row, jsonText));
        const last = items[items.length - 1];
        return { items, nextCursor: more && last !== undefined ? encodeCursor("b", last.id) : null };
      });
    },

    listRecipients(broadcastId: number, query: ListRecipientsQuery): Promise<Page<Recipient> | null> {
      return exclusive(() => listRecipientsTx.deferred(broadcastId, query));
    },

    updateBroadcast(id, expectedStatus, patch, at): Promise<UpdateResult> {
      return exclusive(() => updateTx.immediate(id, expectedStatus, patch, at));
    },

    findDueScheduled(now: Date, limit: number): Promise<Broadcast[]> {
      return exclusive((s) =>
        s.findDue.all(now.getTime(), Math.max(0, Math.floor(limit))).map((row) => toBroadcast(row, jsonText)),
      );
    },

    claimRecipients(request: ClaimRequest): Promise<ClaimResult> {
      return exclusive(() => claimTx.immediate(request));
    },

    recordOutcomes(request: RecordOutcomesRequest): Promise<RecordOutcomesResult> {
      return exclusive(() => {
        try {
          let result: RecordOutcomesResult;
          try {
            result = recordTx.immediate(request, true);
          } catch (error) {
            // Some row of the batch is no longer held: redo it row by row to learn which.
            if (!(error instanceof BatchMismatch)) throw error;
            result = recordTx.immediate(request, false);
          }
          if (result.type === "recorded") forgetPositions(request);
          return result;
        } catch (error) {
          if (error instanceof LeaseLost) return { type: "lease_lost", recipientIds: error.recipientIds };
          throw error;
        }
      });
    },

    renewLease(request: RenewLeaseRequest): Promise<RenewLeaseResult> {
      return exclusive(() => renewTx.immediate(request));
    },

    getActivity(broadcastId: number, now: Date): Promise<BroadcastActivity | null> {
      return exclusive((s) => {
        const row = s.activity.get({ id: broadcastId, now: now.getTime() });
        return row === undefined ? null : { leased: row.leased === 1, claimable: row.claimable === 1 };
      });
    },

    resetFailedRecipients(request: ResetFailedRequest): Promise<ResetFailedResult> {
      return exclusive(() => resetTx.immediate(request));
    },

    claimWebhookDeliveries(request) {
      return exclusive(() => outbox.claim(request));
    },

    recordWebhookDelivery(request) {
      return exclusive(() => outbox.record(request));
    },

    listWebhookDeliveries(query) {
      return exclusive(() => outbox.list(query));
    },

    async migrate(): Promise<readonly number[]> {
      while (streaming !== null) await streaming.catch(() => undefined);
      const applied = migrateSqlite(db);
      migrated = true;
      return applied;
    },

    async close(): Promise<void> {
      while (streaming !== null) await streaming.catch(() => undefined);
      if (owned && db.open) db.close();
    },
  };
}
