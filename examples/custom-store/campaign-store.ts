/**
 * A `BroadcastStore` written by a host, on its own tables (`campaigns`, `campaign_deliveries`) in
 * its own SQLite database. It is the smallest store that keeps every promise of the port; the
 * conformance suite proves it (test/adapters/sqlite/custom-store-example.test.ts). Read it with
 * docs/custom-store.md. Clarity first: `broadcastkit/sqlite` is the fast one.
 *
 * Choices worth copying:
 * - every method is ONE transaction (better-sqlite3 runs them synchronously, so they are atomic);
 * - ids that may be numbers or strings are kept as JSON text, so `1` and `"1"` stay two recipients;
 * - counters, per-error counts and the error log live on the campaign row and change in the same
 *   transaction as the deliveries they count: reading progress never counts rows;
 * - a lease is an epoch stamped on each claimed delivery; a write whose epoch is no longer on the
 *   row is refused whole (`lease_lost`);
 * - every status change journals its webhook event in the same transaction (`campaign-webhooks.ts`).
 */
import type { Database } from "better-sqlite3";
import {
  type AppendRecipientsResult,
  type Broadcast,
  type BroadcastActivity,
  type BroadcastPatch,
  type BroadcastStatus,
  type BroadcastStore,
  type ClaimedRecipient,
  type ClaimRequest,
  type ClaimResult,
  InvalidCursorError,
  MAX_NAMED_DUPLICATES,
  type NewBroadcast,
  type NewRecipient,
  type Recipient,
  type RecipientOutcome,
  type RecipientSource,
  type RecordOutcomesRequest,
  type RecordOutcomesResult,
  type RenewLeaseRequest,
  type RenewLeaseResult,
  type ResetFailedRequest,
  type ResetFailedResult,
  type UpdateResult,
} from "broadcastkit";
import { campaignWebhooks } from "./campaign-webhooks.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS campaigns (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL, parse_mode TEXT, state TEXT NOT NULL, author TEXT, threshold INTEGER,
  total INTEGER NOT NULL DEFAULT 0, delivered INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
  failures TEXT NOT NULL DEFAULT '{}', failure_log TEXT NOT NULL DEFAULT '[]', paused_because TEXT,
  created_ms INTEGER NOT NULL, scheduled_ms INTEGER, started_ms INTEGER, finished_ms INTEGER,
  revision INTEGER NOT NULL DEFAULT 1, last_epoch INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS campaign_deliveries (
  campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
  position INTEGER NOT NULL,
  recipient TEXT NOT NULL, chat TEXT NOT NULL, vars TEXT,
  state TEXT NOT NULL DEFAULT 'pending', tries INTEGER NOT NULL DEFAULT 0,
  error TEXT, error_kind TEXT, retry_ms INTEGER, message TEXT,
  holder_epoch INTEGER, holder_until INTEGER,
  PRIMARY KEY (campaign_id, position),
  UNIQUE (campaign_id, recipient)
);
CREATE INDEX IF NOT EXISTS campaign_deliveries_state ON campaign_deliveries (campaign_id, state, position);
`;

interface CampaignRow {
  id: number;
  body: string;
  parse_mode: "HTML" | "MarkdownV2" | null;
  state: BroadcastStatus;
  author: string | null;
  threshold: number | null;
  total: number;
  delivered: number;
  failed: number;
  failures: string;
  failure_log: string;
  paused_because: string | null;
  created_ms: number;
  scheduled_ms: number | null;
  started_ms: number | null;
  finished_ms: number | null;
  revision: number;
}

interface DeliveryRow {
  campaign_id: number;
  position: number;
  recipient: string;
  chat: string;
  vars: string | null;
  state: Recipient["state"];
  tries: number;
  error: string | null;
  error_kind: Recipient["lastErrorKind"];
  retry_ms: number | null;
  message: string | null;
  holder_epoch: number | null;
  holder_until: number | null;
}

interface LoggedFailure {
  recipient_id: number | string;
  error: string;
  at: number;
}

const json = (value: unknown): string => JSON.stringify(value);

/**
 * Error texts and variable names are data: keep them in a `Map`, or in an object without a
 * prototype, never in `{}`, where `constructor` reads back as a function and `__proto__` vanishes.
 */
const countsOf = (text: string): Map<string, number> =>
  new Map(Object.entries(JSON.parse(text) as Record<string, number>));
const countsJson = (counts: Map<string, number>): string => json(Object.fromEntries(counts));
const parseData = (text: string) => Object.assign(Object.create(null) as object, JSON.parse(text));
const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
const ms = (value: Date | null): number | null => (value === null ? null : value.getTime());

function toBroadcast(row: CampaignRow): Broadcast {
  const log = JSON.parse(row.failure_log) as LoggedFailure[];
  return {
    id: row.id,
    status: row.state,
    message: row.parse_mode === null ? { text: row.body } : { text: row.body, parseMode: row.parse_mode },
    createdBy: row.author === null ? null : (JSON.parse(row.author) as string | number),
    errorThreshold: row.threshold,
    totalRecipients: row.total,
    sentCount: row.delivered,
    failedCount: row.failed,
    errorCounts: parseData(row.failures) as Record<string, number>,
    errorLog: log.map((e) => ({ recipientId: e.recipient_id, error: e.error, timestamp: new Date(e.at) })),
    pauseReason: row.paused_because === null ? null : JSON.parse(row.paused_because),
    createdAt: new Date(row.created_ms),
    scheduledAt: date(row.scheduled_ms),
    sentAt: date(row.started_ms),
    completedAt: date(row.finished_ms),
    version: row.revision,
  };
}

function toRecipient(row: DeliveryRow): Recipient {
  return {
    broadcastId: row.campaign_id,
    recipientId: JSON.parse(row.recipient) as number | string,
    chatId: JSON.parse(row.chat) as number | string,
    variables: row.vars === null ? null : parseData(row.vars),
    state: row.state,
    attempts: row.tries,
    lastError: row.error,
    lastErrorKind: row.error_kind,
    nextAttemptAt: date(row.retry_ms),
    messageId: row.message === null ? null : (JSON.parse(row.message) as number | string),
  };
}

/** Cursors are opaque to callers: here, a tag and a number. Anything else is refused. */
function readCursor(cursor: string | undefined, tag: string, start: number): number {
  if (cursor === undefined) return start;
  const n = Number(cursor.slice(tag.length));
  if (!cursor.startsWith(tag) || !Number.isSafeInteger(n) || `${tag}${n}` !== cursor) {
    throw new InvalidCursorError(cursor);
  }
  return n;
}

/** Thrown inside a transaction to roll it back and answer `lease_lost`. */
class LeaseLost {
  constructor(readonly recipientIds: RecipientOutcome["recipientId"][]) {}
}

export function createCampaignStore(db: Database): BroadcastStore {
  db.exec(SCHEMA);
  const webhooks = campaignWebhooks(db);
  const campaign = (id: number) =>
    db.prepare("SELECT * FROM campaigns WHERE id = ?").get(id) as CampaignRow | undefined;

  /**
   * better-sqlite3 is synchronous, but a creation from an async source awaits between rows with
   * its transaction open. Every method goes through this queue, so nothing runs inside that
   * transaction but the creation itself.
   */
  let queue: Promise<unknown> = Promise.resolve();
  function serialized<T>(work: () => T | Promise<T>): Promise<T> {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  }

  const compareAndSet = (
    id: number,
    expected: BroadcastStatus,
    patch: BroadcastPatch,
    at?: Date,
  ): UpdateResult => {
    const row = campaign(id);
    if (row === undefined) return { type: "not_found" };
    if (row.state !== expected) return { type: "status_changed", actual: row.state };
    const set: Record<string, unknown> = {};
    if (patch.status !== undefined) set.state = patch.status;
    if (patch.scheduledAt !== undefined) set.scheduled_ms = ms(patch.scheduledAt);
    if (patch.sentAt !== undefined) set.started_ms = ms(patch.sentAt);
    if (patch.completedAt !== undefined) set.finished_ms = ms(patch.completedAt);
    if (patch.pauseReason !== undefined) set.paused_because = patch.pauseReason && json(patch.pauseReason);
    if (patch.sentCount !== undefined) set.delivered = patch.sentCount;
    if (patch.failedCount !== undefined) set.failed = patch.failedCount;
    const columns = Object.keys(set).map((c) => `${c} = @${c}`);
    db.prepare(
      `UPDATE campaigns SET ${[...columns, "revision = revision + 1"].join(", ")} WHERE id = @id`,
    ).run({
      ...set,
      id,
    });
    const broadcast = toBroadcast(campaign(id)!);
    webhooks.journal(expected, broadcast, at);
    return { type: "updated", broadcast };
  };

  return {
    createBroadcast: (input: NewBroadcast, source: RecipientSource) =>
      serialized(async () => {
        db.exec("BEGIN IMMEDIATE");
        try {
          const { lastInsertRowid } = db
            .prepare(
              `INSERT INTO campaigns (body, parse_mode, state, author, threshold, created_ms, scheduled_ms)
               VALUES (?, ?, ?, ?, ?, ?, ?)`,
            )
            .run(
              input.message.text,
              input.message.parseMode ?? null,
              input.status,
              input.createdBy === null ? null : json(input.createdBy),
              input.errorThreshold,
              input.createdAt.getTime(),
              ms(input.scheduledAt),
            );
          const id = Number(lastInsertRowid);
          const insert = db.prepare(
            "INSERT INTO campaign_deliveries (campaign_id, position, recipient, chat, vars) VALUES (?, ?, ?, ?, ?)",
          );
          let position = 0;
          // `for await` reads arrays, generators and async iterables alike, one recipient at a time.
          for await (const r of source as AsyncIterable<NewRecipient>) {
            insert.run(
              id,
              position++,
              json(r.recipientId),
              json(r.chatId),
              r.variables ? json(r.variables) : null,
            );
          }
          db.prepare("UPDATE campaigns SET total = ? WHERE id = ?").run(position, id);
          db.exec("COMMIT");
          return toBroadcast(campaign(id)!);
        } catch (error) {
          if (db.inTransaction) db.exec("ROLLBACK");
          throw error;
        }
      }),

    appendRecipients: (broadcastId: number, source: RecipientSource) =>
      serialized(async (): Promise<AppendRecipientsResult> => {
        db.exec("BEGIN IMMEDIATE");
        try {
          const row = campaign(broadcastId);
          let answer: AppendRecipientsResult;
          if (row === undefined) answer = { type: "not_found" };
          else if (row.state !== "draft") answer = { type: "status_changed", actual: row.state };
          else {
            // A recipient already there (or earlier in this call) inserts nothing: it is a duplicate.
            const insert = db.prepare(
              `INSERT INTO campaign_deliveries (campaign_id, position, recipient, chat, vars) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (campaign_id, recipient) DO NOTHING`,
            );
            const duplicates = new Set<NewRecipient["recipientId"]>();
            let position = row.total;
            for await (const r of source as AsyncIterable<NewRecipient>) {
              const vars = r.variables ? json(r.variables) : null;
              const added = insert.run(row.id, position, json(r.recipientId), json(r.chatId), vars).changes;
              if (added === 1) position += 1;
              else if (duplicates.add(r.recipientId).size >= MAX_NAMED_DUPLICATES) break;
            }
            if (duplicates.size > 0) answer = { type: "duplicate", recipientIds: [...duplicates] };
            else {
              db.prepare("UPDATE campaigns SET total = ?, revision = revision + 1 WHERE id = ?").run(
                position,
                row.id,
              );
              answer = { type: "appended", broadcast: toBroadcast(campaign(row.id)!) };
            }
          }
          // All or nothing: a refused append takes back every row it inserted.
          db.exec(answer.type === "appended" ? "COMMIT" : "ROLLBACK");
          return answer;
        } catch (error) {
          if (db.inTransaction) db.exec("ROLLBACK");
          throw error;
        }
      }),

    getBroadcast: (id) =>
      serialized(() => {
        const row = campaign(id);
        return row === undefined ? null : toBroadcast(row);
      }),

    listBroadcasts: (query) =>
      serialized(() => {
        const before = readCursor(query.cursor, "c", Number.MAX_SAFE_INTEGER);
        const rows = db
          .prepare(
            `SELECT * FROM campaigns WHERE id < ? AND (? IS NULL OR state = ?) ORDER BY id DESC LIMIT ?`,
          )
          .all(before, query.status ?? null, query.status ?? null, query.limit + 1) as CampaignRow[];
        const items = rows.slice(0, query.limit).map(toBroadcast);
        const last = items.at(-1);
        return { items, nextCursor: rows.length > query.limit && last ? `c${last.id}` : null };
      }),

    listRecipients: (broadcastId, query) =>
      serialized(() => {
        if (campaign(broadcastId) === undefined) return null;
        const after = readCursor(query.cursor, "d", -1);
        const rows = db
          .prepare(
            `SELECT * FROM campaign_deliveries WHERE campaign_id = ? AND position > ? AND (? IS NULL OR state = ?)
             ORDER BY position LIMIT ?`,
          )
          .all(
            broadcastId,
            after,
            query.status ?? null,
            query.status ?? null,
            query.limit + 1,
          ) as DeliveryRow[];
        const page = rows.slice(0, query.limit);
        const last = page.at(-1);
        return {
          items: page.map(toRecipient),
          nextCursor: rows.length > query.limit && last ? `d${last.position}` : null,
        };
      }),

    updateBroadcast: (id, expectedStatus, patch, at) =>
      serialized(() => db.transaction(compareAndSet).immediate(id, expectedStatus, patch, at)),

    findDueScheduled: (now, limit) =>
      serialized(() =>
        (
          db
            .prepare(
              "SELECT * FROM campaigns WHERE state = 'scheduled' AND scheduled_ms <= ? ORDER BY scheduled_ms, id LIMIT ?",
            )
            .all(now.getTime(), limit) as CampaignRow[]
        ).map(toBroadcast),
      ),

    claimRecipients: (request: ClaimRequest) =>
      serialized(() =>
        db
          .transaction((): ClaimResult => {
            const now = request.now.getTime();
            const bumped = db
              .prepare("UPDATE campaigns SET last_epoch = last_epoch + 1 WHERE id = ? RETURNING last_epoch")
              .get(request.broadcastId) as { last_epoch: number } | undefined;
            if (bumped === undefined) return { epoch: 0, recipients: [], retryAt: null };
            const epoch = bumped.last_epoch;
            const onlyFailed = request.onlyFailed ? "AND error IS NOT NULL" : "";
            // Claimable: pending, due, and not under a live lease.
            const rows = db
              .prepare(
                `SELECT * FROM campaign_deliveries
                 WHERE campaign_id = ? AND state = 'pending' AND (retry_ms IS NULL OR retry_ms <= ?)
                   AND (holder_until IS NULL OR holder_until <= ?) ${onlyFailed}
                 ORDER BY position LIMIT ?`,
              )
              .all(request.broadcastId, now, now, request.limit) as DeliveryRow[];
            const lease = db.prepare(
              "UPDATE campaign_deliveries SET holder_epoch = ?, holder_until = ? WHERE campaign_id = ? AND position = ?",
            );
            for (const row of rows) lease.run(epoch, now + request.leaseMs, row.campaign_id, row.position);
            // A row still carrying an (expired) lease was never recorded: it is taken over.
            const recipients: ClaimedRecipient[] = rows.map((row) => ({
              ...toRecipient(row),
              takenOver: row.holder_epoch !== null,
            }));
            if (recipients.length > 0) return { epoch, recipients, retryAt: null };
            const next = db
              .prepare(
                `SELECT min(max(coalesce(retry_ms, 0), coalesce(holder_until, 0))) AS at FROM campaign_deliveries
                 WHERE campaign_id = ? AND state = 'pending' ${onlyFailed}`,
              )
              .get(request.broadcastId) as { at: number | null };
            return {
              epoch,
              recipients: [],
              retryAt: next.at === null ? null : new Date(Math.max(next.at, now)),
            };
          })
          .immediate(),
      ),

    recordOutcomes: (request: RecordOutcomesRequest) =>
      serialized((): RecordOutcomesResult => {
        try {
          return db.transaction((): RecordOutcomesResult => {
            const row = campaign(request.broadcastId);
            if (row === undefined) return { type: "not_found" };
            const counts = countsOf(row.failures);
            const log = JSON.parse(row.failure_log) as LoggedFailure[];
            let delivered = 0;
            let failed = 0;
            const lost: RecipientOutcome["recipientId"][] = [];
            const held = "WHERE campaign_id = @id AND recipient = @recipient AND holder_epoch = @epoch";
            for (const o of request.outcomes) {
              const key = { id: request.broadcastId, recipient: json(o.recipientId), epoch: request.epoch };
              const chat = o.type !== "released" && o.chatId !== undefined ? json(o.chatId) : null;
              let sql: string;
              let values: Record<string, unknown> = {};
              if (o.type === "delivered") {
                // Delivered: an error from an earlier attempt no longer describes the recipient.
                sql =
                  "state = 'sent', tries = @tries, message = @message, retry_ms = NULL, error = NULL, error_kind = NULL";
                values = { tries: o.attempts, message: o.messageId === null ? null : json(o.messageId) };
                delivered += 1;
              } else if (o.type === "failed") {
                sql = "state = 'failed', tries = @tries, error = @error, error_kind = @kind, retry_ms = NULL";
                values = { tries: o.attempts, error: o.error, kind: o.kind };
                failed += 1;
                counts.set(o.error, (counts.get(o.error) ?? 0) + 1);
                log.push({ recipient_id: o.recipientId, error: o.error, at: request.now.getTime() });
              } else if (o.type === "retry") {
                sql = "tries = @tries, error = @error, error_kind = @kind, retry_ms = @retry";
                values = {
                  tries: o.attempts,
                  error: o.error,
                  kind: o.kind,
                  retry: o.nextAttemptAt.getTime(),
                };
              } else {
                sql = "state = state";
              }
              const changed = db
                .prepare(
                  `UPDATE campaign_deliveries SET ${sql}, chat = coalesce(@chat, chat),
                   holder_epoch = NULL, holder_until = NULL ${held}`,
                )
                .run({ ...key, ...values, chat }).changes;
              if (changed !== 1) lost.push(o.recipientId);
            }
            if (lost.length > 0) throw new LeaseLost(lost);
            const kept = Math.max(0, request.errorLogLimit);
            db.prepare(
              `UPDATE campaigns SET delivered = delivered + ?, failed = failed + ?, failures = ?, failure_log = ?,
               revision = revision + 1 WHERE id = ?`,
            ).run(
              delivered,
              failed,
              countsJson(counts),
              json(kept === 0 ? [] : log.slice(-kept)),
              request.broadcastId,
            );
            return { type: "recorded", broadcast: toBroadcast(campaign(request.broadcastId)!) };
          })();
        } catch (error) {
          if (error instanceof LeaseLost) return { type: "lease_lost", recipientIds: error.recipientIds };
          throw error;
        }
      }),

    renewLease: (request: RenewLeaseRequest) =>
      serialized(() =>
        db
          .transaction((): RenewLeaseResult => {
            const extend = db.prepare(
              `UPDATE campaign_deliveries SET holder_until = max(holder_until, ?)
               WHERE campaign_id = ? AND recipient = ? AND holder_epoch = ? AND state = 'pending'`,
            );
            const until = request.now.getTime() + request.leaseMs;
            const lost = request.recipientIds.filter(
              (id) => extend.run(until, request.broadcastId, json(id), request.epoch).changes !== 1,
            );
            return { lost };
          })
          .immediate(),
      ),

    getActivity: (broadcastId: number, now: Date) =>
      serialized((): BroadcastActivity | null => {
        if (campaign(broadcastId) === undefined) return null;
        const row = db
          .prepare(
            `SELECT coalesce(max(holder_until > @now), 0) AS leased,
                    coalesce(max((retry_ms IS NULL OR retry_ms <= @now)
                      AND (holder_until IS NULL OR holder_until <= @now)), 0) AS claimable
             FROM campaign_deliveries WHERE campaign_id = @id AND state = 'pending'`,
          )
          .get({ id: broadcastId, now: now.getTime() }) as { leased: number; claimable: number };
        return { leased: row.leased === 1, claimable: row.claimable === 1 };
      }),

    resetFailedRecipients: (request: ResetFailedRequest) =>
      serialized(() =>
        db
          .transaction((): ResetFailedResult => {
            const row = campaign(request.broadcastId);
            if (row === undefined) return { type: "not_found" };
            const which = request.includePermanent ? "" : "AND error_kind IS NOT 'permanent'";
            const failedRows = db
              .prepare(
                `SELECT error FROM campaign_deliveries WHERE campaign_id = ? AND state = 'failed' ${which}`,
              )
              .all(row.id) as { error: string | null }[];
            const allFailed = (
              db
                .prepare(
                  "SELECT count(*) AS n FROM campaign_deliveries WHERE campaign_id = ? AND state = 'failed'",
                )
                .get(row.id) as { n: number }
            ).n;
            const skippedCount = allFailed - failedRows.length;
            if (failedRows.length === 0) {
              return { type: "reset", broadcast: toBroadcast(row), retriedCount: 0, skippedCount };
            }
            if (!request.allowedFrom.includes(row.state))
              return { type: "status_changed", actual: row.state };
            const counts = countsOf(row.failures);
            for (const { error } of failedRows) {
              const text = error ?? "";
              const left = (counts.get(text) ?? 0) - 1;
              if (left > 0) counts.set(text, left);
              else counts.delete(text);
            }
            db.prepare(
              `UPDATE campaign_deliveries SET state = 'pending', tries = 0, retry_ms = NULL
               WHERE campaign_id = ? AND state = 'failed' ${which}`,
            ).run(row.id);
            db.prepare("UPDATE campaigns SET failed = max(0, failed - ?), failures = ? WHERE id = ?").run(
              failedRows.length,
              countsJson(counts),
              row.id,
            );
            const updated = compareAndSet(row.id, row.state, request.patch, request.at);
            if (updated.type !== "updated") throw new Error("campaign changed inside its own transaction");
            return {
              type: "reset",
              broadcast: updated.broadcast,
              retriedCount: failedRows.length,
              skippedCount,
            };
          })
          .immediate(),
      ),

    claimWebhookDeliveries: (request) => serialized(() => webhooks.claim(request)),
    recordWebhookDelivery: (request) => serialized(() => webhooks.record(request)),
    listWebhookDeliveries: (query) => serialized(() => webhooks.list(query)),
  };
}
