/**
 * The webhook outbox of the custom store (`campaign-store.ts`), on two more tables of the host:
 * `campaign_events` (the journal of status changes, written in the transaction of the change) and
 * `campaign_hook_deliveries` (one row per event and endpoint: the outbox and its log), plus
 * `campaign_hooks` (how far each endpoint has read the journal, and its last lease epoch).
 * The promises are those of `WebhookOutbox` in broadcastkit's store port; the same conformance
 * suite checks them.
 */
import type { Database } from "better-sqlite3";
import {
  type Broadcast,
  type BroadcastStatus,
  type ClaimWebhookDeliveriesRequest,
  type ClaimWebhookDeliveriesResult,
  InvalidCursorError,
  type ListWebhookDeliveriesQuery,
  type Page,
  type RecordWebhookDeliveryRequest,
  type RecordWebhookDeliveryResult,
  type WebhookDelivery,
  type WebhookDeliveryState,
  type WebhookEventType,
  webhookEventFor,
} from "broadcastkit";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS campaign_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, campaign_id INTEGER NOT NULL,
  was TEXT NOT NULL, now_state TEXT NOT NULL, at_ms INTEGER NOT NULL,
  total INTEGER NOT NULL, delivered INTEGER NOT NULL, failed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS campaign_hooks (
  endpoint TEXT PRIMARY KEY, read_up_to INTEGER NOT NULL, last_epoch INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS campaign_hook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint TEXT NOT NULL, event_id INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending', tries INTEGER NOT NULL DEFAULT 0,
  retry_ms INTEGER, tried_ms INTEGER, error TEXT, http_status INTEGER, done_ms INTEGER,
  holder_epoch INTEGER, holder_until INTEGER,
  UNIQUE (endpoint, event_id)
);
`;

interface HookRow {
  id: number;
  endpoint: string;
  state: WebhookDeliveryState;
  tries: number;
  retry_ms: number | null;
  tried_ms: number | null;
  error: string | null;
  http_status: number | null;
  done_ms: number | null;
  event_id: number;
  kind: WebhookEventType;
  campaign_id: number;
  was: BroadcastStatus;
  now_state: BroadcastStatus;
  at_ms: number;
  total: number;
  delivered: number;
  failed: number;
}

const SELECT = `SELECT d.*, e.kind, e.campaign_id, e.was, e.now_state, e.at_ms, e.total, e.delivered, e.failed
  FROM campaign_hook_deliveries d JOIN campaign_events e ON e.id = d.event_id`;
const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

function toDelivery(row: HookRow): WebhookDelivery {
  return {
    id: row.id,
    endpointId: row.endpoint,
    event: {
      id: row.event_id,
      type: row.kind,
      broadcastId: row.campaign_id,
      previousStatus: row.was,
      status: row.now_state,
      occurredAt: new Date(row.at_ms),
      totalRecipients: row.total,
      sentCount: row.delivered,
      failedCount: row.failed,
    },
    state: row.state,
    attempts: row.tries,
    nextAttemptAt: date(row.retry_ms),
    lastAttemptAt: date(row.tried_ms),
    lastError: row.error,
    lastStatusCode: row.http_status,
    deliveredAt: date(row.done_ms),
  };
}

export interface CampaignWebhooks {
  journal(previous: BroadcastStatus, after: Broadcast, at: Date | undefined): void;
  claim(request: ClaimWebhookDeliveriesRequest): ClaimWebhookDeliveriesResult;
  record(request: RecordWebhookDeliveryRequest): RecordWebhookDeliveryResult;
  list(query: ListWebhookDeliveriesQuery): Page<WebhookDelivery>;
}

/** Every method but `journal` is one transaction of its own; `journal` joins the caller's. */
export function campaignWebhooks(db: Database): CampaignWebhooks {
  db.exec(SCHEMA);
  const byId = (id: number) => toDelivery(db.prepare(`${SELECT} WHERE d.id = ?`).get(id) as HookRow);

  const claimTx = db.transaction((request: ClaimWebhookDeliveriesRequest): ClaimWebhookDeliveriesResult => {
    const { endpointId: endpoint } = request;
    const now = request.now.getTime();
    // A new endpoint starts at the first event of its `since`.
    db.prepare(
      `INSERT OR IGNORE INTO campaign_hooks (endpoint, read_up_to) VALUES (?, coalesce(
         (SELECT min(id) - 1 FROM campaign_events WHERE at_ms >= ?), (SELECT max(id) FROM campaign_events), 0))`,
    ).run(endpoint, request.since.getTime());
    const { read_up_to: readUpTo } = db
      .prepare("SELECT read_up_to FROM campaign_hooks WHERE endpoint = ?")
      .get(endpoint) as { read_up_to: number };
    db.prepare(
      `INSERT INTO campaign_hook_deliveries (endpoint, event_id)
       SELECT ?, id FROM campaign_events WHERE id > ? AND kind IN (SELECT value FROM json_each(?)) ORDER BY id`,
    ).run(endpoint, readUpTo, JSON.stringify(request.events));
    const { last_epoch: epoch } = db
      .prepare(
        `UPDATE campaign_hooks SET last_epoch = last_epoch + 1,
           read_up_to = max(read_up_to, (SELECT coalesce(max(id), 0) FROM campaign_events))
         WHERE endpoint = ? RETURNING last_epoch`,
      )
      .get(endpoint) as { last_epoch: number };
    const due = db
      .prepare(
        `${SELECT} WHERE d.endpoint = ? AND d.state = 'pending' AND coalesce(d.retry_ms, ?) <= ?
           AND coalesce(d.holder_until, ?) <= ?
         ORDER BY coalesce(d.retry_ms, e.at_ms), d.id LIMIT ?`,
      )
      .all(endpoint, now, now, now, now, request.limit) as HookRow[];
    const lease = db.prepare(
      "UPDATE campaign_hook_deliveries SET holder_epoch = ?, holder_until = ? WHERE id = ?",
    );
    for (const row of due) lease.run(epoch, now + request.leaseMs, row.id);
    if (due.length > 0) return { epoch, deliveries: due.map((row) => byId(row.id)), retryAt: null };
    const { at } = db
      .prepare(
        `SELECT min(max(coalesce(retry_ms, ?), coalesce(holder_until, ?))) AS at
         FROM campaign_hook_deliveries WHERE endpoint = ? AND state = 'pending'`,
      )
      .get(now, now, endpoint) as { at: number | null };
    return { epoch, deliveries: [], retryAt: date(at) };
  });

  const recordTx = db.transaction((request: RecordWebhookDeliveryRequest): RecordWebhookDeliveryResult => {
    const row = db
      .prepare("SELECT state, holder_epoch FROM campaign_hook_deliveries WHERE id = ? AND endpoint = ?")
      .get(request.deliveryId, request.endpointId) as
      | { state: string; holder_epoch: number | null }
      | undefined;
    if (row === undefined) return { type: "not_found" };
    if (row.state !== "pending" || row.holder_epoch !== request.epoch) return { type: "lease_lost" };
    const { outcome } = request;
    const now = request.now.getTime();
    db.prepare(
      `UPDATE campaign_hook_deliveries SET state = ?, tries = tries + 1, tried_ms = ?, http_status = ?,
         error = ?, retry_ms = ?, done_ms = ?, holder_epoch = NULL, holder_until = NULL WHERE id = ?`,
    ).run(
      outcome.type === "retry" ? "pending" : outcome.type,
      now,
      outcome.statusCode,
      outcome.type === "delivered" ? null : outcome.error,
      outcome.type === "retry" ? outcome.nextAttemptAt.getTime() : null,
      outcome.type === "delivered" ? now : null,
      request.deliveryId,
    );
    return { type: "recorded", delivery: byId(request.deliveryId) };
  });

  return {
    journal(previous: BroadcastStatus, after: Broadcast, at: Date | undefined): void {
      const kind = webhookEventFor(previous, after.status);
      if (kind === null) return;
      db.prepare(
        `INSERT INTO campaign_events (kind, campaign_id, was, now_state, at_ms, total, delivered, failed)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        kind,
        after.id,
        previous,
        after.status,
        (at ?? new Date()).getTime(),
        after.totalRecipients,
        after.sentCount,
        after.failedCount,
      );
    },

    claim: (request) => claimTx.immediate(request),
    record: (request) => recordTx.immediate(request),

    list(query: ListWebhookDeliveriesQuery): Page<WebhookDelivery> {
      let below = Number.MAX_SAFE_INTEGER;
      if (query.cursor !== undefined) {
        below = Number(query.cursor.slice(1));
        if (!query.cursor.startsWith("h") || !Number.isSafeInteger(below) || `h${below}` !== query.cursor) {
          throw new InvalidCursorError(query.cursor);
        }
      }
      const rows = db
        .prepare(
          `${SELECT} WHERE d.id < @below AND (@campaign IS NULL OR e.campaign_id = @campaign)
             AND (@endpoint IS NULL OR d.endpoint = @endpoint) AND (@state IS NULL OR d.state = @state)
           ORDER BY d.id DESC LIMIT @limit`,
        )
        .all({
          below,
          campaign: query.broadcastId ?? null,
          endpoint: query.endpointId ?? null,
          state: query.state ?? null,
          limit: query.limit + 1,
        }) as HookRow[];
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        items: page.map(toDelivery),
        nextCursor: rows.length > query.limit && last ? `h${last.id}` : null,
      };
    },
  };
}
