import type { Broadcast, BroadcastStatus, Page } from "../../core/types.js";
import {
  type WebhookDelivery,
  type WebhookDeliveryState,
  type WebhookEvent,
  webhookEventFor,
} from "../../core/webhooks.js";
import type {
  ClaimWebhookDeliveriesRequest,
  ClaimWebhookDeliveriesResult,
  ListWebhookDeliveriesQuery,
  RecordWebhookDeliveryRequest,
  RecordWebhookDeliveryResult,
} from "../../ports/webhook-outbox.js";
import { decodeCursor, encodeCursor } from "./cursor.js";

interface DeliveryRow {
  readonly id: number;
  readonly endpointId: string;
  readonly event: WebhookEvent;
  state: WebhookDeliveryState;
  attempts: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastError: string | null;
  lastStatusCode: number | null;
  deliveredAt: number | null;
  leaseEpoch: number | null;
  leaseExpiresAt: number;
}

interface EndpointRow {
  /** Events up to this id have been turned into deliveries (or passed over). */
  seenUpTo: number;
  lastEpoch: number;
  /** Pending deliveries, by id. */
  readonly pending: Map<number, DeliveryRow>;
}

const time = (at: number | null): Date | null => (at === null ? null : new Date(at));

const read = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  endpointId: row.endpointId,
  event: { ...row.event, occurredAt: new Date(row.event.occurredAt) },
  state: row.state,
  attempts: row.attempts,
  nextAttemptAt: time(row.nextAttemptAt),
  lastAttemptAt: time(row.lastAttemptAt),
  lastError: row.lastError,
  lastStatusCode: row.lastStatusCode,
  deliveredAt: time(row.deliveredAt),
});

/**
 * The memory store's outbox. Its methods are synchronous, so the store calls `journal` inside the
 * same synchronous step as the status change it records.
 */
export class MemoryWebhookOutbox {
  private readonly events: WebhookEvent[] = [];
  private readonly endpoints = new Map<string, EndpointRow>();
  /** Every delivery, in id order (ascending). */
  private readonly deliveries: DeliveryRow[] = [];

  journal(previousStatus: BroadcastStatus, after: Broadcast, at: Date | undefined): void {
    const type = webhookEventFor(previousStatus, after.status);
    if (type === null) return;
    this.events.push({
      id: this.events.length + 1,
      type,
      broadcastId: after.id,
      previousStatus,
      status: after.status,
      occurredAt: new Date((at ?? new Date()).getTime()),
      totalRecipients: after.totalRecipients,
      sentCount: after.sentCount,
      failedCount: after.failedCount,
    });
  }

  claim(request: ClaimWebhookDeliveriesRequest): ClaimWebhookDeliveriesResult {
    const endpoint = this.register(request);
    const wanted = new Set<string>(request.events);
    for (const event of this.events.slice(endpoint.seenUpTo)) {
      if (wanted.has(event.type)) {
        const row: DeliveryRow = {
          id: this.deliveries.length + 1,
          endpointId: request.endpointId,
          event,
          state: "pending",
          attempts: 0,
          nextAttemptAt: null,
          lastAttemptAt: null,
          lastError: null,
          lastStatusCode: null,
          deliveredAt: null,
          leaseEpoch: null,
          leaseExpiresAt: Number.NEGATIVE_INFINITY,
        };
        this.deliveries.push(row);
        endpoint.pending.set(row.id, row);
      }
    }
    endpoint.seenUpTo = this.events.length;
    endpoint.lastEpoch += 1;
    const epoch = endpoint.lastEpoch;
    const now = request.now.getTime();
    const dueAt = (row: DeliveryRow) => row.nextAttemptAt ?? row.event.occurredAt.getTime();
    const claimable = [...endpoint.pending.values()]
      .filter((row) => (row.nextAttemptAt ?? now) <= now && row.leaseExpiresAt <= now)
      .sort((a, b) => dueAt(a) - dueAt(b) || a.id - b.id)
      .slice(0, Math.max(0, request.limit));
    for (const row of claimable) {
      row.leaseEpoch = epoch;
      row.leaseExpiresAt = now + request.leaseMs;
    }
    if (claimable.length > 0) return { epoch, deliveries: claimable.map(read), retryAt: null };
    let earliest = Number.POSITIVE_INFINITY;
    for (const row of endpoint.pending.values()) {
      earliest = Math.min(earliest, Math.max(row.nextAttemptAt ?? now, row.leaseExpiresAt));
    }
    return {
      epoch,
      deliveries: [],
      retryAt: earliest === Number.POSITIVE_INFINITY ? null : new Date(earliest),
    };
  }

  record(request: RecordWebhookDeliveryRequest): RecordWebhookDeliveryResult {
    const row = this.deliveries[request.deliveryId - 1];
    if (row === undefined || row.endpointId !== request.endpointId) return { type: "not_found" };
    if (row.state !== "pending" || row.leaseEpoch !== request.epoch) return { type: "lease_lost" };
    const now = request.now.getTime();
    const { outcome } = request;
    row.attempts += 1;
    row.lastAttemptAt = now;
    row.lastStatusCode = outcome.statusCode;
    row.leaseEpoch = null;
    row.leaseExpiresAt = Number.NEGATIVE_INFINITY;
    switch (outcome.type) {
      case "delivered":
        row.state = "delivered";
        row.deliveredAt = now;
        row.lastError = null;
        row.nextAttemptAt = null;
        break;
      case "retry":
        row.lastError = outcome.error;
        row.nextAttemptAt = outcome.nextAttemptAt.getTime();
        break;
      case "failed":
        row.state = "failed";
        row.lastError = outcome.error;
        row.nextAttemptAt = null;
        break;
    }
    if (row.state !== "pending") this.endpoints.get(row.endpointId)?.pending.delete(row.id);
    return { type: "recorded", delivery: read(row) };
  }

  list(query: ListWebhookDeliveriesQuery): Page<WebhookDelivery> {
    const below = query.cursor === undefined ? this.deliveries.length + 1 : decodeCursor(query.cursor, "w");
    const matches = (row: DeliveryRow) =>
      (query.broadcastId === undefined || row.event.broadcastId === query.broadcastId) &&
      (query.endpointId === undefined || row.endpointId === query.endpointId) &&
      (query.state === undefined || row.state === query.state);
    const items: WebhookDelivery[] = [];
    let index = Math.min(below, this.deliveries.length + 1) - 2;
    const limit = Math.max(0, query.limit);
    for (; index >= 0 && items.length < limit; index -= 1) {
      const row = this.deliveries[index]!;
      if (matches(row)) items.push(read(row));
    }
    while (index >= 0 && !matches(this.deliveries[index]!)) index -= 1;
    const last = items[items.length - 1];
    return { items, nextCursor: index >= 0 && last !== undefined ? encodeCursor("w", last.id) : null };
  }

  private register(request: ClaimWebhookDeliveriesRequest): EndpointRow {
    const known = this.endpoints.get(request.endpointId);
    if (known !== undefined) return known;
    const since = request.since.getTime();
    const first = this.events.findIndex((event) => event.occurredAt.getTime() >= since);
    const endpoint: EndpointRow = {
      seenUpTo: first === -1 ? this.events.length : first,
      lastEpoch: 0,
      pending: new Map(),
    };
    this.endpoints.set(request.endpointId, endpoint);
    return endpoint;
  }
}
