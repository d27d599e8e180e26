import type { PoolClient } from "pg";
import type { Broadcast, BroadcastStatus, Page } from "../../core/types.js";
import type { WebhookDelivery, WebhookEventType } from "../../core/webhooks.js";
import type {
  ClaimWebhookDeliveriesRequest,
  ClaimWebhookDeliveriesResult,
  ListWebhookDeliveriesQuery,
  RecordWebhookDeliveryRequest,
  RecordWebhookDeliveryResult,
} from "../../ports/webhook-outbox.js";
import { decodeCursor, encodeCursor } from "../sql-shared/cursor.js";
import { type DeliveryRow, FANOUT_BATCH, toDelivery } from "../sql-shared/webhooks.js";
import type { TableNames } from "./schema.js";

const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * The PostgreSQL store's webhook outbox. Event ids come from a sequence, and a sequence hands out
 * values in the order transactions ask, not the order they commit: an endpoint that moved past id
 * 11 while id 10 was still uncommitted would never see 10. So journaling takes a transaction-scoped
 * advisory lock (exclusive) until its commit, and the fan-out of a claim takes it shared: when a
 * claim reads the journal, every id below the largest it sees is committed.
 */
export function postgresWebhookOutbox(t: TableNames) {
  const lockKey = `broadcastkit:webhooks:${t.schema}`;
  const columns = `d.id, d.endpoint_id, d.state, d.attempts, ${ms("d.next_attempt_at")} AS next_attempt_at,
    ${ms("d.last_attempt_at")} AS last_attempt_at, d.last_error, d.last_status_code,
    ${ms("d.delivered_at")} AS delivered_at, e.id AS event_id, e.type, e.broadcast_id, e.previous_status,
    e.status, ${ms("e.occurred_at")} AS occurred_at, e.total_recipients, e.sent_count, e.failed_count`;
  const from = `${t.webhookDeliveries} d JOIN ${t.webhookEvents} e ON e.id = d.event_id`;

  async function byIds(client: PoolClient, ids: readonly string[]): Promise<WebhookDelivery[]> {
    if (ids.length === 0) return [];
    const rows = await client.query<DeliveryRow>(
      `SELECT ${columns} FROM ${from} WHERE d.id = ANY($1::bigint[]) ORDER BY d.due_at, d.id`,
      [ids],
    );
    return rows.rows.map(toDelivery);
  }

  return {
    /** Before a status change that journals an event, in the same transaction. */
    async lockJournal(client: PoolClient): Promise<void> {
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey]);
    },

    /** Inside the transaction of the change, after `lockJournal`. */
    async journal(
      client: PoolClient,
      type: WebhookEventType,
      previous: BroadcastStatus,
      after: Broadcast,
      at: Date | undefined,
    ): Promise<void> {
      await client.query(
        `INSERT INTO ${t.webhookEvents}
           (type, broadcast_id, previous_status, status, occurred_at, total_recipients, sent_count, failed_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          type,
          after.id,
          previous,
          after.status,
          at ?? new Date(),
          after.totalRecipients,
          after.sentCount,
          after.failedCount,
        ],
      );
    },

    /** One transaction: register, fan out, then lease the due deliveries. */
    async claim(
      client: PoolClient,
      request: ClaimWebhookDeliveriesRequest,
    ): Promise<ClaimWebhookDeliveriesResult> {
      const { endpointId, now } = request;
      await client.query("SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))", [lockKey]);
      await client.query(
        `INSERT INTO ${t.webhookEndpoints} (endpoint_id, seen_up_to)
         VALUES ($1, coalesce(
           (SELECT min(id) - 1 FROM ${t.webhookEvents} WHERE occurred_at >= $2),
           (SELECT max(id) FROM ${t.webhookEvents}),
           0))
         ON CONFLICT (endpoint_id) DO NOTHING`,
        [endpointId, request.since],
      );
      // The endpoint's row lock orders this claim after any other claim of the same endpoint.
      const seenRow = await client.query<{ seen_up_to: string }>(
        `SELECT seen_up_to FROM ${t.webhookEndpoints} WHERE endpoint_id = $1 FOR UPDATE`,
        [endpointId],
      );
      const seen = Number(seenRow.rows[0]!.seen_up_to);
      const last = await client.query<{ id: string }>(
        `SELECT coalesce(max(id), 0) AS id FROM ${t.webhookEvents}`,
      );
      const upTo = Math.max(seen, Math.min(Number(last.rows[0]!.id), seen + FANOUT_BATCH));
      if (upTo > seen) {
        await client.query(
          `INSERT INTO ${t.webhookDeliveries} (endpoint_id, event_id, broadcast_id, due_at)
           SELECT $1, id, broadcast_id, occurred_at FROM ${t.webhookEvents}
           WHERE id > $2 AND id <= $3 AND type = ANY($4::text[])
           ORDER BY id
           ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
          [endpointId, seen, upTo, request.events],
        );
      }
      const advanced = await client.query<{ last_epoch: string }>(
        `UPDATE ${t.webhookEndpoints} SET last_epoch = last_epoch + 1, seen_up_to = $2
         WHERE endpoint_id = $1 RETURNING last_epoch`,
        [endpointId, upTo],
      );
      const epoch = Number(advanced.rows[0]!.last_epoch);
      const limit = Math.max(0, Math.floor(request.limit));
      const leased = await client.query<{ id: string }>(
        `UPDATE ${t.webhookDeliveries} SET lease_epoch = $3, lease_owner = $4, lease_expires_at = $5
         WHERE id IN (
           SELECT id FROM ${t.webhookDeliveries}
           WHERE endpoint_id = $1 AND state = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
             AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
           ORDER BY due_at, id LIMIT $6 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [endpointId, now, epoch, request.owner, new Date(now.getTime() + request.leaseMs), limit],
      );
      const deliveries = await byIds(
        client,
        leased.rows.map((r) => r.id),
      );
      if (deliveries.length > 0) return { epoch, deliveries, retryAt: null };
      const next = await client.query<{ at: number | null }>(
        `SELECT ${ms("min(greatest(coalesce(next_attempt_at, $2), coalesce(lease_expires_at, $2)))")} AS at
         FROM ${t.webhookDeliveries} WHERE endpoint_id = $1 AND state = 'pending'`,
        [endpointId, now],
      );
      const at = next.rows[0]?.at ?? null;
      return { epoch, deliveries: [], retryAt: at === null ? null : new Date(Number(at)) };
    },

    async record(
      client: PoolClient,
      request: RecordWebhookDeliveryRequest,
    ): Promise<RecordWebhookDeliveryResult> {
      const { outcome } = request;
      const retryAt = outcome.type === "retry" ? outcome.nextAttemptAt : null;
      const updated = await client.query<{ id: string }>(
        `UPDATE ${t.webhookDeliveries} SET
           state = $1, attempts = attempts + 1, last_attempt_at = $2, last_status_code = $3, last_error = $4,
           next_attempt_at = $5, due_at = coalesce($5, due_at), delivered_at = $6,
           lease_epoch = NULL, lease_owner = NULL, lease_expires_at = NULL
         WHERE id = $7 AND endpoint_id = $8 AND state = 'pending' AND lease_epoch = $9
         RETURNING id`,
        [
          outcome.type === "retry" ? "pending" : outcome.type,
          request.now,
          outcome.statusCode,
          outcome.type === "delivered" ? null : outcome.error,
          retryAt,
          outcome.type === "delivered" ? request.now : null,
          request.deliveryId,
          request.endpointId,
          request.epoch,
        ],
      );
      if (updated.rowCount === 0) {
        const exists = await client.query(
          `SELECT 1 FROM ${t.webhookDeliveries} WHERE id = $1 AND endpoint_id = $2`,
          [request.deliveryId, request.endpointId],
        );
        return exists.rowCount === 0 ? { type: "not_found" } : { type: "lease_lost" };
      }
      const [delivery] = await byIds(client, [String(request.deliveryId)]);
      return { type: "recorded", delivery: delivery! };
    },

    async list(client: PoolClient, query: ListWebhookDeliveriesQuery): Promise<Page<WebhookDelivery>> {
      const below = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor(query.cursor, "w");
      const limit = Math.max(0, Math.floor(query.limit));
      if (limit === 0) return { items: [], nextCursor: null };
      const rows = await client.query<DeliveryRow>(
        `SELECT ${columns} FROM ${from}
         WHERE d.id < $1 AND ($2::bigint IS NULL OR d.broadcast_id = $2)
           AND ($3::text IS NULL OR d.endpoint_id = $3) AND ($4::text IS NULL OR d.state = $4)
         ORDER BY d.id DESC LIMIT $5`,
        [below, query.broadcastId ?? null, query.endpointId ?? null, query.state ?? null, limit + 1],
      );
      const more = rows.rows.length > limit;
      const items = (more ? rows.rows.slice(0, limit) : rows.rows).map(toDelivery);
      const last = items[items.length - 1];
      return { items, nextCursor: more && last !== undefined ? encodeCursor("w", last.id) : null };
    },
  };
}
