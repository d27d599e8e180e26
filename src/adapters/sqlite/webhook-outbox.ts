import type { Database, Statement } from "better-sqlite3";
import type { Broadcast, BroadcastStatus, Page } from "../../core/types.js";
import { type WebhookDelivery, webhookEventFor } from "../../core/webhooks.js";
import type {
  ClaimWebhookDeliveriesRequest,
  ClaimWebhookDeliveriesResult,
  ListWebhookDeliveriesQuery,
  RecordWebhookDeliveryRequest,
  RecordWebhookDeliveryResult,
} from "../../ports/webhook-outbox.js";
import { decodeCursor, encodeCursor } from "../sql-shared/cursor.js";
import { type DeliveryRow, FANOUT_BATCH, toDelivery } from "../sql-shared/webhooks.js";

type Row<T> = Statement<unknown[], T>;

const DELIVERY_COLUMNS = `d.id, d.endpoint_id, d.state, d.attempts, d.next_attempt_at, d.last_attempt_at,
  d.last_error, d.last_status_code, d.delivered_at, e.id AS event_id, e.type, e.broadcast_id,
  e.previous_status, e.status, e.occurred_at, e.total_recipients, e.sent_count, e.failed_count`;
const FROM_DELIVERIES = "broadcast_webhook_deliveries d JOIN broadcast_webhook_events e ON e.id = d.event_id";

function prepare(db: Database) {
  return {
    insertEvent: db.prepare(`INSERT INTO broadcast_webhook_events
      (type, broadcast_id, previous_status, status, occurred_at, total_recipients, sent_count, failed_count)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    endpoint: db.prepare(
      "SELECT seen_up_to, last_epoch FROM broadcast_webhook_endpoints WHERE endpoint_id = ?",
    ) as Row<{
      seen_up_to: number;
      last_epoch: number;
    }>,
    registerEndpoint: db.prepare(`INSERT INTO broadcast_webhook_endpoints (endpoint_id, seen_up_to)
      VALUES (?, coalesce(
        (SELECT min(id) - 1 FROM broadcast_webhook_events WHERE occurred_at >= ?),
        (SELECT max(id) FROM broadcast_webhook_events),
        0))`),
    lastEventId: db.prepare("SELECT coalesce(max(id), 0) AS id FROM broadcast_webhook_events") as Row<{
      id: number;
    }>,
    fanOut: db.prepare(`INSERT INTO broadcast_webhook_deliveries (endpoint_id, event_id, broadcast_id, due_at)
      SELECT ?, id, broadcast_id, occurred_at FROM broadcast_webhook_events
      WHERE id > ? AND id <= ? AND type IN (SELECT value FROM json_each(?)) ORDER BY id`),
    advance: db.prepare(`UPDATE broadcast_webhook_endpoints SET seen_up_to = ?, last_epoch = last_epoch + 1
      WHERE endpoint_id = ? RETURNING last_epoch`) as Row<{ last_epoch: number }>,
    claimable: db.prepare(`SELECT id FROM broadcast_webhook_deliveries
      WHERE endpoint_id = ? AND state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)
        AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
      ORDER BY due_at, id LIMIT ?`) as Row<{ id: number }>,
    lease:
      db.prepare(`UPDATE broadcast_webhook_deliveries SET lease_epoch = ?, lease_owner = ?, lease_expires_at = ?
      WHERE id = ?`),
    byId: db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM ${FROM_DELIVERIES} WHERE d.id = ?`) as Row<DeliveryRow>,
    retryAt: db.prepare(`SELECT min(max(coalesce(next_attempt_at, ?), coalesce(lease_expires_at, ?))) AS at
      FROM broadcast_webhook_deliveries WHERE endpoint_id = ? AND state = 'pending'`) as Row<{
      at: number | null;
    }>,
    record: db.prepare(`UPDATE broadcast_webhook_deliveries SET
        state = ?, attempts = attempts + 1, last_attempt_at = ?, last_status_code = ?, last_error = ?,
        next_attempt_at = ?, due_at = coalesce(?, due_at), delivered_at = ?,
        lease_epoch = NULL, lease_owner = NULL, lease_expires_at = NULL
      WHERE id = ? AND endpoint_id = ? AND state = 'pending' AND lease_epoch = ?`),
    exists: db.prepare(
      "SELECT 1 AS one FROM broadcast_webhook_deliveries WHERE id = ? AND endpoint_id = ?",
    ) as Row<{
      one: number;
    }>,
    list: db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM ${FROM_DELIVERIES}
      WHERE d.id < @below AND (@broadcastId IS NULL OR d.broadcast_id = @broadcastId)
        AND (@endpointId IS NULL OR d.endpoint_id = @endpointId) AND (@state IS NULL OR d.state = @state)
      ORDER BY d.id DESC LIMIT @limit`) as Row<DeliveryRow>,
  };
}

/**
 * The SQLite store's webhook outbox. `journal` runs inside the transaction of the status change
 * it records; the other methods each run in their own `BEGIN IMMEDIATE` transaction (the caller's
 * `exclusive`), so two claims never interleave.
 */
export function createSqliteWebhookOutbox(db: Database) {
  let statements: ReturnType<typeof prepare> | null = null;
  const s = () => {
    statements ??= prepare(db);
    return statements;
  };

  const claimTx = db.transaction((request: ClaimWebhookDeliveriesRequest): ClaimWebhookDeliveriesResult => {
    const st = s();
    const { endpointId } = request;
    if (st.endpoint.get(endpointId) === undefined)
      st.registerEndpoint.run(endpointId, request.since.getTime());
    const seen = st.endpoint.get(endpointId)!.seen_up_to;
    const upTo = Math.min(st.lastEventId.get()!.id, seen + FANOUT_BATCH);
    if (upTo > seen) st.fanOut.run(endpointId, seen, upTo, JSON.stringify(request.events));
    const epoch = st.advance.get(Math.max(seen, upTo), endpointId)!.last_epoch;
    const now = request.now.getTime();
    const limit = Math.max(0, Math.floor(request.limit));
    const ids = limit === 0 ? [] : st.claimable.all(endpointId, now, now, limit).map((row) => row.id);
    const deliveries: WebhookDelivery[] = [];
    for (const id of ids) {
      st.lease.run(epoch, request.owner, now + request.leaseMs, id);
      deliveries.push(toDelivery(st.byId.get(id)!));
    }
    if (deliveries.length > 0) return { epoch, deliveries, retryAt: null };
    const at = st.retryAt.get(now, now, endpointId)?.at ?? null;
    return { epoch, deliveries, retryAt: at === null ? null : new Date(at) };
  });

  const recordTx = db.transaction((request: RecordWebhookDeliveryRequest): RecordWebhookDeliveryResult => {
    const st = s();
    const { outcome } = request;
    const now = request.now.getTime();
    const retryAt = outcome.type === "retry" ? outcome.nextAttemptAt.getTime() : null;
    const state = outcome.type === "retry" ? "pending" : outcome.type;
    const error = outcome.type === "delivered" ? null : outcome.error;
    const changed = st.record.run(
      state,
      now,
      outcome.statusCode,
      error,
      retryAt,
      retryAt,
      outcome.type === "delivered" ? now : null,
      request.deliveryId,
      request.endpointId,
      request.epoch,
    ).changes;
    if (changed === 0) {
      return st.exists.get(request.deliveryId, request.endpointId) === undefined
        ? { type: "not_found" }
        : { type: "lease_lost" };
    }
    return { type: "recorded", delivery: toDelivery(st.byId.get(request.deliveryId)!) };
  });

  return {
    /** Inside the caller's transaction: journals the change from `previous` to `after` when it is an event. */
    journal(previous: BroadcastStatus, after: Broadcast, at: Date | undefined): void {
      const type = webhookEventFor(previous, after.status);
      if (type === null) return;
      s().insertEvent.run(
        type,
        after.id,
        previous,
        after.status,
        (at ?? new Date()).getTime(),
        after.totalRecipients,
        after.sentCount,
        after.failedCount,
      );
    },
    claim: (request: ClaimWebhookDeliveriesRequest) => claimTx.immediate(request),
    record: (request: RecordWebhookDeliveryRequest) => recordTx.immediate(request),
    list(query: ListWebhookDeliveriesQuery): Page<WebhookDelivery> {
      const below = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.cursor, "w");
      const limit = Math.max(0, Math.floor(query.limit));
      if (limit === 0) return { items: [], nextCursor: null };
      const rows = s().list.all({
        below,
        broadcastId: query.broadcastId ?? null,
        endpointId: query.endpointId ?? null,
        state: query.state ?? null,
        limit: limit + 1,
      });
      const more = rows.length > limit;
      const items = (more ? rows.slice(0, limit) : rows).map(toDelivery);
      const last = items[items.length - 1];
      return { items, nextCursor: more && last !== undefined ? encodeCursor("w", last.id) : null };
    },
  };
}
