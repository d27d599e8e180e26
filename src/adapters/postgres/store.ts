import pg, { type Pool, type PoolClient, type QueryResultRow } from "pg";
import type { RecipientOutcome } from "../../core/outcome.js";
import type { BroadcastPatch } from "../../core/transitions.js";
import {
  type Broadcast,
  type BroadcastStatus,
  MAX_NAMED_DUPLICATES,
  type NewRecipient,
  type Page,
  type Recipient,
  type RecipientId,
} from "../../core/types.js";
import { webhookEventFor } from "../../core/webhooks.js";
import type {
  AppendRecipientsResult,
  BroadcastActivity,
  BroadcastStore,
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
import { encodeId, encodeJson, encodeMessageId, splitChatId } from "../sql-shared/codec.js";
import { decodeCursor, encodeCursor } from "../sql-shared/cursor.js";
import { errorCountsJson } from "../sql-shared/data-record.js";
import { batchEffect, effectiveLogLimit, mergeErrorCounts } from "../sql-shared/outcomes.js";
import { type PatchColumn, patchColumns, patchShape } from "../sql-shared/patch.js";
import {
  type BroadcastRow,
  jsonParsed,
  type RecipientRow,
  toBroadcast,
  toClaimedRecipient,
  toRecipient,
} from "../sql-shared/rows.js";
import { inChunks, toInsertRow } from "../sql-shared/source.js";
import { migratePostgres, type TableNames, tableNames } from "./schema.js";
import {
  COUNTER_SHARDS,
  foldedBroadcast,
  LEASE_LOST_MARK,
  type PostgresStatements,
  type StatementName,
  statements,
} from "./sql.js";
import { postgresWebhookOutbox } from "./webhook-outbox.js";

export interface PostgresStoreSettings {
  /** The schema holding the tables (default `public`); created if missing. */
  readonly schema?: string;
  /** Run pending migrations on first use (default `true`). With `false`, call `migrate()` yourself. */
  readonly migrate?: boolean;
  /** Keep at most this many error-log entries per broadcast, whatever a caller asks for. */
  readonly errorLogLimit?: number;
}

export type PostgresStoreOptions = PostgresStoreSettings &
  (
    | {
        /**
         * A pool the host owns; `close()` leaves it open. Give it an 'error' listener, as pg asks
         * of every pool: a connection that dies while idle in the pool is reported there, and
         * without a listener Node throws it. The store listens to the clients it checks out.
         */
        readonly pool: Pool;
      }
    | {
        /** The store opens (and `close()` ends) its own pool. */
        readonly connectionString: string;
        /** Connections in that pool (default 10). */
        readonly poolSize?: number;
      }
  );

export interface PostgresStore extends BroadcastStore {
  /** Applies pending migrations (idempotent, safe from several processes); returns the versions applied. */
  migrate(): Promise<readonly number[]>;
  /** Ends the pool if the store created it; a pool it was given stays open. */
  close(): Promise<void>;
}

/** Recipients per INSERT statement: parameters stay six arrays whatever the count. */
const INSERT_CHUNK = 5_000;
/**
 * A creation (or an append) this large refreshes the table's statistics, so claims and records
 * keep index plans.
 */
const ANALYZE_AFTER = 10_000;
/**
 * A batch joins its outcomes (an `unnest`) to the rows it locked. Statistics that lag behind a bulk
 * insert can make the planner put the rows outside a nested loop that rescans the `unnest` for each
 * one (quadratic); a hash join is right for every batch size.
 */
const BEGIN_RECORD = "BEGIN; SET LOCAL enable_nestloop = off";
const MAX_ID = Number.MAX_SAFE_INTEGER;
/** Positions of the recipients of this many of the newest claims are remembered. */
const REMEMBERED_LEASES = 256;

/** Casts for the columns a compare-and-set update may write. */
const CASTS: Readonly<Record<PatchColumn["column"], string>> = {
  status: "text",
  scheduled_at: "timestamptz",
  sent_at: "timestamptz",
  completed_at: "timestamptz",
  pause_reason: "jsonb",
  sent_count: "int",
  failed_count: "int",
};

/** A short, stable tag of the schema, so prepared statement names of two stores never clash. */
function schemaTag(schema: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < schema.length; i += 1) hash = Math.imul(hash ^ schema.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(36);
}

/** A batch's positions (in the order of its outcomes) and their lowest and highest. */
type BatchPositions = readonly [seqs: number[], low: number, high: number];

/** A broadcast row with what its counter shards add (sent, failed, version), as the statements read it. */
type FoldedRow = BroadcastRow & { readonly shards: readonly string[] | null };

/** The broadcast, its counter shards added to its own columns. */
function asBroadcast(row: FoldedRow): Broadcast {
  const [sent = 0, failed = 0, version = 0] = (row.shards ?? []).map(Number);
  return toBroadcast(
    {
      ...row,
      sent_count: Number(row.sent_count) + sent,
      failed_count: Number(row.failed_count) + failed,
      version: Number(row.version) + version,
    },
    jsonParsed,
  );
}

/** A delivery that moves no chat: what nearly every outcome of a batch is. */
const isPlainDelivery = (outcome: RecipientOutcome): boolean =>
  outcome.type === "delivered" && outcome.chatId === undefined;

/** Which counter row a batch adds to: by its epoch, so that concurrent batches mostly differ. */
const shardOf = (epoch: number): number => epoch % COUNTER_SHARDS;

/** A fresh range past its expiry, as the claim that hands it back reads it. */
interface ExpiredRange {
  readonly epoch: string;
  readonly first_seq: number;
  readonly last_seq: number;
  readonly expires_at: Date;
  readonly owner: string | null;
}

/** A claim's answer: its epoch and the broadcast's status on every row, and a recipient on each (or none). */
type ClaimedRow = { readonly epoch: string; readonly status: string } & {
  readonly [K in keyof RecipientRow]: RecipientRow[K] | null;
};

/** Thrown inside a transaction to roll it back with an answer rather than a failure. */
class Answer<T> {
  constructor(readonly value: T) {}
}

/** A batch's outcomes as the parallel arrays the `record` statement unnests, in its column order. */
function outcomeColumns(outcomes: readonly RecipientOutcome[]): unknown[] {
  const ops: string[] = [];
  const attempts: (number | null)[] = [];
  const errors: (string | null)[] = [];
  const kinds: (string | null)[] = [];
  const nextAt: (Date | null)[] = [];
  const messageIds: (string | null)[] = [];
  const moved: boolean[] = [];
  const chatIds: (number | null)[] = [];
  const usernames: (string | null)[] = [];
  for (const outcome of outcomes) {
    ops.push(outcome.type);
    const acted = outcome.type !== "released";
    attempts.push(acted ? outcome.attempts : null);
    const failure = outcome.type === "failed" || outcome.type === "retry";
    errors.push(failure ? outcome.error : null);
    kinds.push(failure ? outcome.kind : null);
    nextAt.push(outcome.type === "retry" ? outcome.nextAttemptAt : null);
    messageIds.push(outcome.type === "delivered" ? encodeMessageId(outcome.messageId) : null);
    const chat = acted && outcome.chatId !== undefined ? splitChatId(outcome.chatId) : null;
    moved.push(chat !== null);
    chatIds.push(chat?.chatId ?? null);
    usernames.push(chat?.chatUsername ?? null);
  }
  return [ops, attempts, errors, kinds, nextAt, messageIds, moved, chatIds, usernames];
}

/** A chunk of recipients as the parallel arrays the insert statements unnest, from position `firstSeq`. */
function chunkColumns(chunk: readonly NewRecipient[], firstSeq: number) {
  const seqs: number[] = [];
  const recipientIds: string[] = [];
  const chatIds: (number | null)[] = [];
  const usernames: (string | null)[] = [];
  const variables: (string | null)[] = [];
  let seq = firstSeq;
  for (const recipient of chunk) {
    const row = toInsertRow(recipient);
    seqs.push(seq++);
    recipientIds.push(row.recipientId);
    chatIds.push(row.chatId);
    usernames.push(row.chatUsername);
    variables.push(row.variables);
  }
  return [seqs, recipientIds, chatIds, usernames, variables] as const;
}

/**
 * A `BroadcastStore` on PostgreSQL (pg). Each method is one statement or one transaction on one
 * pooled connection:
 * - a claim draws an epoch (the fencing token) from the broadcast's `epoch_counter` and leases up
 *   to `limit` recipients in one statement, one round trip (expired fresh ranges, rare, are
 *   handed back first, in more);
 * - a batch of first deliveries is one statement too: its rows, its counter shard, its fresh
 *   range and the broadcast read back, committed together or (a lease lost) not at all;
 * - other batches are one `UPDATE ... FROM unnest(...)` touching only rows still held under the
 *   batch's epoch (a shortfall rolls back to `lease_lost`), then the broadcast's counters, error
 *   counts and error log, in one transaction;
 * - status changes are compare-and-set updates (`UPDATE ... WHERE id = $1 AND status = $2 RETURNING *`).
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  const owned = !("pool" in options);
  const pool: Pool =
    "pool" in options
      ? options.pool
      : new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 });
  // An idle connection that dies emits 'error' on the pool; the next query reports the failure. A
  // pool the host gives is the host's to listen to, as pg asks of every pool's owner.
  if (owned) pool.on("error", () => undefined);
  const tables: TableNames = tableNames(options.schema ?? "public");
  const sql: PostgresStatements = statements(tables);
  const prefix = `bk_${schemaTag(tables.schema)}_`;
  const logCap = options.errorLogLimit;
  let ready: Promise<void> | null = options.migrate === false ? Promise.resolve() : null;
  const casSql = new Map<string, string>();
  const outbox = postgresWebhookOutbox(tables);
  /**
   * Where the recipients of this store's newest claims sit (`broadcast:epoch` → stored recipient
   * id → position), so that recording their outcomes reads one primary-key range. Only a
   * shortcut: a batch of a claim not remembered here is found by recipient id.
   */
  const leasedPositions = new Map<string, Map<string, number>>();
  const leaseKey = (broadcastId: number, epoch: number) => `${broadcastId}:${epoch}`;

  function rememberLease(broadcastId: number, epoch: number, rows: readonly RecipientRow[]): void {
    const positions = new Map<string, number>();
    for (const row of rows) positions.set(row.recipient_id, Number(row.seq));
    leasedPositions.set(leaseKey(broadcastId, epoch), positions);
    if (leasedPositions.size > REMEMBERED_LEASES)
      leasedPositions.delete(leasedPositions.keys().next().value!);
  }

  /** Recorded recipients leave their claim's positions; the claim's entry goes once none is left. */
  function forgetPositions(broadcastId: number, epoch: number, keys: readonly string[]): void {
    const positions = leasedPositions.get(leaseKey(broadcastId, epoch));
    if (positions === undefined) return;
    for (const key of keys) positions.delete(key);
    if (positions.size === 0) leasedPositions.delete(leaseKey(broadcastId, epoch));
  }

  /** The batch's positions and their bounds, when every one of them is remembered. */
  function positionsOf(broadcastId: number, epoch: number, keys: readonly string[]): BatchPositions | null {
    const positions = leasedPositions.get(leaseKey(broadcastId, epoch));
    if (positions === undefined) return null;
    const seqs: number[] = [];
    let low = Number.POSITIVE_INFINITY;
    let high = Number.NEGATIVE_INFINITY;
    for (const key of keys) {
      const seq = positions.get(key);
      if (seq === undefined) return null;
      seqs.push(seq);
      if (seq < low) low = seq;
      if (seq > high) high = seq;
    }
    return [seqs, low, high];
  }

  /**
   * A pooled client for one transaction. While a client is checked out, the pool no longer listens
   * to its 'error' event, and a backend terminated between two statements (a failover, a restart,
   * a network reset) emits one: unheard, Node would throw it and kill the process. Listening here
   * turns the loss into what it should be, a rejection of the call (pg fails the statement in flight
   * and every later one), and marks the client broken so that it is discarded (`release(true)`)
   * instead of going back to the pool. Statements outside transactions go through `pool.query`,
   * which listens for the time of its statement; an idle client's loss is reported on the pool.
   */
  async function checkedOut<T>(work: (client: PoolClient, markBroken: () => void) => Promise<T>): Promise<T> {
    let broken = false;
    const markBroken = () => {
      broken = true;
    };
    // The callback form, so the listener is on before anything else runs: a new connection's
    // "ready" and its termination can arrive in one read, before a promise's continuation would.
    const client = await new Promise<PoolClient>((resolve, reject) => {
      pool.connect((error, connected) => {
        if (error || connected === undefined) {
          reject(error ?? new Error("pg pool handed out no client"));
          return;
        }
        connected.on("error", markBroken);
        resolve(connected);
      });
    });
    try {
      return await work(client, markBroken);
    } finally {
      // A broken client keeps the listener: the rest of its shutdown may still report errors.
      if (!broken) client.removeListener("error", markBroken);
      client.release(broken);
    }
  }

  const migrateNow = (): Promise<number[]> => checkedOut((client) => migratePostgres(client, tables));

  /** Runs the migrations once, on first use; a failed attempt is retried by the next call. */
  function ensureReady(): Promise<void> {
    if (ready === null) {
      const attempt = migrateNow().then(() => undefined);
      ready = attempt;
      attempt.catch(() => {
        if (ready === attempt) ready = null;
      });
    }
    return ready;
  }

  type Runner = Pool | PoolClient;
  /** A fixed statement, prepared once per connection under a name unique to this schema. */
  const run = <R extends QueryResultRow>(on: Runner, name: StatementName, values: unknown[]) =>
    on.query<R>({ name: prefix + name, text: sql[name], values });

  /**
   * One transaction on one client. Whatever fails (a statement, the work, a lost connection), the
   * call rejects having committed nothing; a client that cannot even roll back is discarded.
   */
  async function transaction<T>(work: (client: PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
    await ensureReady();
    return checkedOut(async (client, markBroken) => {
      try {
        await client.query(begin);
        const result = await work(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(markBroken);
        throw error;
      }
    });
  }

  async function answering<T>(work: (client: PoolClient) => Promise<T>, begin?: string): Promise<T> {
    try {
      return await transaction(work, begin);
    } catch (error) {
      if (error instanceof Answer) return error.value as T;
      throw error;
    }
  }

  async function query<R extends QueryResultRow>(name: StatementName, values: unknown[]): Promise<R[]> {
    await ensureReady();
    return (await run<R>(pool, name, values)).rows;
  }

  /**
   * A patch sets counters as totals: the broadcast's own columns take what the shards do not hold.
   * A batch committing meanwhile adds to its shard as if it came after the patch.
   */
  function patchValue(column: PatchColumn, param: string): string {
    if (column.column !== "sent_count" && column.column !== "failed_count") return param;
    const shardColumn = column.column === "sent_count" ? "sent" : "failed";
    return `${param} - (SELECT coalesce(sum(${shardColumn}), 0) FROM ${tables.counters} WHERE broadcast_id = $1::bigint)::int`;
  }

  function casStatement(
    columns: readonly PatchColumn[],
    extra: readonly string[],
    firstParam: number,
  ): string {
    const key = `${extra.join(",")}|${patchShape(columns)}`;
    let text = casSql.get(key);
    if (text === undefined) {
      const sets = [
        ...extra,
        ...columns.map((c, i) => `${c.column} = ${patchValue(c, `$${firstParam + i}::${CASTS[c.column]}`)}`),
        "version = version + 1",
      ];
      text = `UPDATE ${tables.broadcasts} AS b SET ${sets.join(", ")} WHERE b.id = $1::bigint AND b.status = $2
        RETURNING ${foldedBroadcast(tables, "b")}`;
      casSql.set(key, text);
    }
    return text;
  }

  async function statusOf(on: Runner, id: number): Promise<BroadcastStatus | null> {
    const rows = (await run<{ status: string }>(on, "statusOf", [id])).rows;
    return rows.length === 0 ? null : (rows[0]!.status as BroadcastStatus);
  }

  /**
   * A batch of plain first deliveries in one statement, one round trip. `null` when a lease was
   * lost (the statement committed nothing): the transactional path then records the batch, or
   * names exactly the recipients lost.
   */
  async function recordDeliveredAtOnce(
    broadcastId: number,
    epoch: number,
    outcomes: readonly RecipientOutcome[],
    [seqs, low, high]: BatchPositions,
    sent: number,
  ): Promise<RecordOutcomesResult | null> {
    const byPosition: Record<number, [number, string | null]> = {};
    outcomes.forEach((outcome, i) => {
      if (outcome.type === "delivered")
        byPosition[seqs[i]!] = [outcome.attempts, encodeMessageId(outcome.messageId)];
    });
    try {
      const [row] = await query<FoldedRow>("recordDelivered", [
        broadcastId,
        JSON.stringify(byPosition),
        epoch,
        low,
        high,
        shardOf(epoch),
        sent,
        outcomes.length,
      ]);
      // Every outcome found its row, so the broadcast was there: read back unless deleted since.
      if (row === undefined || row.id === null) return { type: "not_found" };
      return { type: "recorded", broadcast: asBroadcast(row) };
    } catch (error) {
      if (error instanceof Error && error.message.includes(LEASE_LOST_MARK)) return null;
      throw error;
    }
  }

  async function insertChunk(
    client: PoolClient,
    id: number,
    firstSeq: number,
    chunk: readonly NewRecipient[],
  ): Promise<number> {
    await run(client, "insertRecipients", [id, ...chunkColumns(chunk, firstSeq)]);
    return firstSeq + chunk.length;
  }

  /**
   * Appends one chunk from position `firstSeq`; answers the ids refused as already there (or
   * repeated), in the chunk's order. Positions of refused rows are left unused: the caller rolls
   * the whole append back whenever there is one.
   */
  async function appendChunk(
    client: PoolClient,
    id: number,
    firstSeq: number,
    chunk: readonly NewRecipient[],
  ): Promise<RecipientId[]> {
    const columns = chunkColumns(chunk, firstSeq);
    const inserted = await run<{ recipient_id: string }>(client, "appendRecipients", [id, ...columns]);
    if (inserted.rows.length === chunk.length) return [];
    const fresh = new Set(inserted.rows.map((row) => row.recipient_id));
    const refused: RecipientId[] = [];
    columns[1].forEach((key, i) => {
      if (fresh.has(key)) fresh.delete(key);
      else refused.push(chunk[i]!.recipientId);
    });
    return refused;
  }

  return {
    async createBroadcast(input: NewBroadcast, source: RecipientSource): Promise<Broadcast> {
      const created = await transaction(async (client) => {
        const inserted = await run<{ id: string }>(client, "insertBroadcast", [
          encodeJson(input.createdBy),
          input.message.text,
          input.message.parseMode ?? null,
          input.status,
          input.errorThreshold,
          input.createdAt,
          input.scheduledAt,
        ]);
        const id = Number(inserted.rows[0]!.id);
        let count = 0;
        for await (const chunk of inChunks(source, INSERT_CHUNK))
          count = await insertChunk(client, id, count, chunk);
        const row = (await run<FoldedRow>(client, "setRecipientCount", [id, count])).rows[0]!;
        return asBroadcast(row);
      });
      if (created.totalRecipients >= ANALYZE_AFTER) {
        // Best effort: autovacuum gets there too, only later; a refusal (not the owner) changes nothing.
        await pool.query(`ANALYZE ${tables.recipients}`).catch(() => undefined);
      }
      return created;
    },

    async appendRecipients(broadcastId: number, source: RecipientSource): Promise<AppendRecipientsResult> {
      let appended = 0;
      const answer = await answering(async (client): Promise<AppendRecipientsResult> => {
        // The row lock keeps racing appends (and a racing start) apart until this one commits.
        const current = (await run<FoldedRow>(client, "lockBroadcast", [broadcastId])).rows[0];
        if (current === undefined) return { type: "not_found" };
        const status = current.status as BroadcastStatus;
        if (status !== "draft") return { type: "status_changed", actual: status };
        const first = Number(current.recipient_count);
        const duplicates = new Set<RecipientId>();
        for await (const chunk of inChunks(source, INSERT_CHUNK)) {
          for (const id of await appendChunk(client, broadcastId, first + appended, chunk)) {
            if (duplicates.size < MAX_NAMED_DUPLICATES) duplicates.add(id);
          }
          appended += chunk.length;
          if (duplicates.size >= MAX_NAMED_DUPLICATES) break;
        }
        if (duplicates.size > 0) throw new Answer({ type: "duplicate", recipientIds: [...duplicates] });
        const row = (await run<FoldedRow>(client, "addRecipientCount", [broadcastId, appended])).rows[0]!;
        return { type: "appended", broadcast: asBroadcast(row) };
      });
      if (answer.type === "appended" && appended >= ANALYZE_AFTER) {
        await pool.query(`ANALYZE ${tables.recipients}`).catch(() => undefined);
      }
      return answer;
    },

    async getBroadcast(id: number): Promise<Broadcast | null> {
      const [row] = await query<FoldedRow>("getBroadcast", [id]);
      return row === undefined ? null : asBroadcast(row);
    },

    async listBroadcasts(q: ListBroadcastsQuery): Promise<Page<Broadcast>> {
      const before = q.cursor === undefined ? MAX_ID : decodeCursor(q.cursor, "b");
      const limit = Math.max(0, Math.floor(q.limit));
      if (limit === 0) return { items: [], nextCursor: null };
      const rows =
        q.status === undefined
          ? await query<FoldedRow>("listBroadcasts", [before, limit + 1])
          : await query<FoldedRow>("listBroadcastsByStatus", [q.status, before, limit + 1]);
      const more = rows.length > limit;
      const items = (more ? rows.slice(0, limit) : rows).map(asBroadcast);
      const last = items[items.length - 1];
      return { items, nextCursor: more && last !== undefined ? encodeCursor("b", last.id) : null };
    },

    async listRecipients(broadcastId: number, q: ListRecipientsQuery): Promise<Page<Recipient> | null> {
      const after = q.cursor === undefined ? -1 : decodeCursor(q.cursor, "r");
      await ensureReady();
      if ((await statusOf(pool, broadcastId)) === null) return null;
      const limit = Math.max(0, Math.floor(q.limit));
      if (limit === 0) return { items: [], nextCursor: null };
      const rows =
        q.status === undefined
          ? await query<RecipientRow>("listRecipients", [broadcastId, after, limit + 1])
          : q.status === "failed"
            ? await query<RecipientRow>("listFailedRecipients", [broadcastId, after, limit + 1])
            : await query<RecipientRow>("listRecipientsByState", [broadcastId, q.status, after, limit + 1]);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page[page.length - 1];
      return {
        items: page.map(toRecipient),
        nextCursor: more && last !== undefined ? encodeCursor("r", Number(last.seq)) : null,
      };
    },

    async updateBroadcast(
      id: number,
      expected: BroadcastStatus,
      patch: BroadcastPatch,
      at?: Date,
    ): Promise<UpdateResult> {
      await ensureReady();
      const columns = patchColumns(patch);
      const text = casStatement(columns, [], 3);
      const values = [id, expected, ...columns.map((c) => c.value)];
      const event = patch.status === undefined ? null : webhookEventFor(expected, patch.status);
      if (event !== null) {
        // A change that journals an event: the change and its event commit together.
        return transaction(async (client): Promise<UpdateResult> => {
          await outbox.lockJournal(client);
          const row = (await client.query<FoldedRow>(text, values)).rows[0];
          if (row === undefined) {
            const actual = await statusOf(client, id);
            return actual === null ? { type: "not_found" } : { type: "status_changed", actual };
          }
          const broadcast = asBroadcast(row);
          await outbox.journal(client, event, expected, broadcast, at);
          return { type: "updated", broadcast };
        });
      }
      const updated = await pool.query<FoldedRow>(text, values);
      const row = updated.rows[0];
      if (row !== undefined) return { type: "updated", broadcast: asBroadcast(row) };
      const actual = await statusOf(pool, id);
      return actual === null ? { type: "not_found" } : { type: "status_changed", actual };
    },

    async findDueScheduled(now: Date, limit: number): Promise<Broadcast[]> {
      const rows = await query<FoldedRow>("findDue", [now, Math.max(0, Math.floor(limit))]);
      return rows.map(asBroadcast);
    },

    async claimRecipients(request: ClaimRequest): Promise<ClaimResult> {
      const { broadcastId, now, onlyFailed } = request;
      const limit = Math.max(0, Math.floor(request.limit));
      const expiresAt = new Date(now.getTime() + request.leaseMs);
      const values = [broadcastId, now, limit, request.owner, expiresAt];
      let rows = await query<ClaimedRow>(onlyFailed ? "claimOnlyFailed" : "claim", values);
      if (rows.length === 0) {
        // An expired fresh range (one per batch a worker left behind, so rarely), or no broadcast:
        // what the ranges still hold joins the claim index, where this claim finds and takes it over.
        const expired = await query<ExpiredRange>("expiredFreshLeases", [broadcastId, now]);
        for (const range of expired) {
          await query("requeueFreshLease", [
            broadcastId,
            range.epoch,
            range.first_seq,
            range.last_seq,
            range.expires_at,
            range.owner,
          ]);
          await query("forgetFreshLease", [broadcastId, range.epoch]);
        }
        rows = await query<ClaimedRow>(
          onlyFailed ? "claimOnlyFailedAfterHandback" : "claimAfterHandback",
          values,
        );
      }
      const head = rows[0];
      if (head === undefined) return { epoch: 0, recipients: [], retryAt: null, status: null };
      const epoch = Number(head.epoch);
      const status = head.status as BroadcastStatus;
      // A claim that found nobody still answers one row: the epoch and status, no recipient.
      const claimed = rows.filter((row) => row.seq !== null) as (ClaimedRow & RecipientRow)[];
      if (claimed.length > 0) {
        claimed.sort((a, b) => Number(a.seq) - Number(b.seq));
        const recipients = claimed.map((row) => toClaimedRecipient(row, Boolean(row.lease_taken_over)));
        rememberLease(broadcastId, epoch, claimed);
        return { epoch, recipients, retryAt: null, status };
      }
      const due = await query<{ at: Date | null }>(onlyFailed ? "nextDueOnlyFailed" : "nextDue", [
        broadcastId,
        now,
      ]);
      return { epoch, recipients: [], retryAt: due[0]?.at ?? null, status };
    },

    async recordOutcomes(request: RecordOutcomesRequest): Promise<RecordOutcomesResult> {
      const { broadcastId, epoch, outcomes } = request;
      const effect = batchEffect(outcomes, request.now);
      const positions = outcomes.length > 0 ? positionsOf(broadcastId, epoch, effect.keys) : null;
      if (positions !== null && outcomes.every(isPlainDelivery)) {
        const once = await recordDeliveredAtOnce(broadcastId, epoch, outcomes, positions, effect.sentDelta);
        if (once !== null) {
          if (once.type === "recorded") forgetPositions(broadcastId, epoch, effect.keys);
          return once;
        }
      }
      return answering(async (client): Promise<RecordOutcomesResult> => {
        if (outcomes.length > 0) {
          const held = await run<{ recipient_id: string }>(
            client,
            positions === null ? "record" : "recordBySeq",
            [
              broadcastId,
              effect.keys,
              ...outcomeColumns(outcomes),
              epoch,
              shardOf(epoch),
              effect.sentDelta,
              effect.failedDelta,
              outcomes.length,
              ...(positions ?? []),
            ],
          );
          if (held.rows.length !== outcomes.length) {
            if ((await statusOf(client, broadcastId)) === null) throw new Answer({ type: "not_found" });
            const heldKeys = new Set(held.rows.map((r) => r.recipient_id));
            const lost = outcomes
              .filter((_, i) => !heldKeys.has(effect.keys[i]!))
              .map((outcome) => outcome.recipientId);
            throw new Answer({ type: "lease_lost", recipientIds: lost });
          }
        }
        if (effect.logEntries.length > 0) {
          await run(client, "addErrors", [
            broadcastId,
            errorCountsJson(effect.errorCountDelta),
            JSON.stringify(effect.logEntries),
            effectiveLogLimit(request.errorLogLimit, logCap),
          ]);
        }
        const row = (await run<FoldedRow>(client, "forgetAndRead", [broadcastId, epoch])).rows[0];
        if (row === undefined) throw new Answer({ type: "not_found" });
        return { type: "recorded", broadcast: asBroadcast(row) };
      }, BEGIN_RECORD).then((result) => {
        if (result.type === "recorded") forgetPositions(broadcastId, epoch, effect.keys);
        return result;
      });
    },

    async renewLease(request: RenewLeaseRequest): Promise<RenewLeaseResult> {
      const { broadcastId, epoch, recipientIds } = request;
      const until = new Date(request.now.getTime() + request.leaseMs);
      const keys = recipientIds.map(encodeId);
      const renewed = await query<{ recipient_id: string }>("renewLease", [broadcastId, keys, epoch, until]);
      const held = new Set(renewed.map((row) => row.recipient_id));
      return { lost: recipientIds.filter((_, i) => !held.has(keys[i]!)) };
    },

    async getActivity(broadcastId: number, now: Date): Promise<BroadcastActivity | null> {
      const [row] = await query<BroadcastActivity>("activity", [broadcastId, now]);
      return row === undefined ? null : { leased: row.leased, claimable: row.claimable };
    },

    resetFailedRecipients(request: ResetFailedRequest): Promise<ResetFailedResult> {
      const { broadcastId, includePermanent } = request;
      return transaction(async (client): Promise<ResetFailedResult> => {
        // Before the row lock, in the order every status change takes them (no deadlock).
        await outbox.lockJournal(client);
        const current = (await run<FoldedRow>(client, "lockBroadcast", [broadcastId])).rows[0];
        if (current === undefined) return { type: "not_found" };
        const counted = (
          await run<{ failed: number; permanent: number }>(client, "countFailed", [broadcastId])
        ).rows[0]!;
        const retriable = includePermanent ? counted.failed : counted.failed - counted.permanent;
        const skippedCount = counted.failed - retriable;
        const status = current.status as BroadcastStatus;
        if (retriable === 0)
          return { type: "reset", broadcast: asBroadcast(current), retriedCount: 0, skippedCount };
        if (!request.allowedFrom.includes(status)) return { type: "status_changed", actual: status };
        const lowered = new Map<string, number>();
        const errors = await run<{ error: string | null; n: number }>(
          client,
          includePermanent ? "failedErrorsAll" : "failedErrors",
          [broadcastId],
        );
        for (const { error, n } of errors.rows) lowered.set(error ?? "", -n);
        const reset = await run(client, includePermanent ? "resetFailedAll" : "resetFailed", [broadcastId]);
        const retriedCount = reset.rowCount ?? 0;
        const counts = mergeErrorCounts(current.error_counts, lowered);
        const columns = patchColumns(request.patch);
        // The total (own column plus shards) falls by as many, never below zero.
        const lowerFailed = `failed_count = failed_count - least($3::int, failed_count + (SELECT coalesce(sum(failed), 0)
          FROM ${tables.counters} WHERE broadcast_id = $1::bigint)::int)`;
        const text = casStatement(columns, [lowerFailed, "error_counts = $4::jsonb"], 5);
        const updated = await client.query<FoldedRow>(text, [
          broadcastId,
          status,
          retriedCount,
          errorCountsJson(counts),
          ...columns.map((c) => c.value),
        ]);
        const row = updated.rows[0];
        if (row === undefined) throw new Error("broadcast changed while its row was locked");
        const broadcast = asBroadcast(row);
        const event = webhookEventFor(status, broadcast.status);
        if (event !== null) await outbox.journal(client, event, status, broadcast, request.at);
        return { type: "reset", broadcast, retriedCount, skippedCount };
      });
    },

    claimWebhookDeliveries(request) {
      return transaction((client) => outbox.claim(client, request));
    },

    recordWebhookDelivery(request) {
      return transaction((client) => outbox.record(client, request));
    },

    async listWebhookDeliveries(query) {
      await ensureReady();
      return checkedOut((client) => outbox.list(client, query));
    },

    async migrate(): Promise<readonly number[]> {
      const applied = await migrateNow();
      ready = Promise.resolve();
      return applied;
    },

    async close(): Promise<void> {
      if (owned) await pool.end();
    },
  };
}
