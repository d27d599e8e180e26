import type { Page } from "../core/types.js";
import type { WebhookDelivery, WebhookDeliveryState, WebhookEventType } from "../core/webhooks.js";

/**
 * # The webhook outbox: status changes on their way to the host's endpoints
 *
 * Part of the store port (`BroadcastStore` extends it), so that a status change and the record of
 * it that webhooks deliver are written **in one atomic step**: a crash right after the change
 * loses no event, and nothing on the send path waits for an endpoint.
 *
 * ## The journal
 * Whenever `updateBroadcast` or `resetFailedRecipients` changes a broadcast's status, the store
 * appends, in the same atomic step, an event: `webhookEventFor(previous, new)` (from the core;
 * nothing is journaled when it answers `null`), the broadcast id, both statuses, the time of the
 * change (`at` given to the method, else the store's clock) and the broadcast's `totalRecipients`,
 * `sentCount` and `failedCount` right after it. Event ids are positive and increase.
 *
 * ## Deliveries, per endpoint
 * An endpoint is a string id the host chose. The first `claimWebhookDeliveries` naming an unknown
 * endpoint registers it: it will receive the events that occurred at or after that call's `since`
 * (earlier ones are not its business), and from then on every later event whose type it asks
 * for, each exactly once as a delivery row. A delivery is `pending` until recorded `delivered` or
 * `failed`; settled deliveries never change again.
 *
 * ## Leases
 * As for recipients: a claim hands out due pending deliveries under a new epoch (larger than every
 * epoch issued before for that endpoint) until `leaseExpiresAt`; after that another claim may take
 * them over. Recording with an epoch that no longer holds the delivery is refused (`lease_lost`)
 * and changes nothing, so a dispatcher that wakes up late cannot undo a newer attempt's result.
 * Two live claims never hold the same delivery.
 *
 * ## What it does not promise
 * No ordering between endpoints; within one endpoint, claims hand out the most overdue first
 * (fresh events by id), so a delivery waiting for its retry does not hold later events back.
 */
export interface WebhookOutbox {
  /**
   * Registers `endpointId` when unknown (see above), turns events it has not seen yet into
   * pending deliveries (only types in `events`; other types are passed over for good), then claims
   * up to `limit` pending deliveries of that endpoint that are due (`nextAttemptAt` absent or
   * `<= now`) and not under a live lease, most overdue first (a fresh delivery counts as due since
   * its event occurred), for `leaseMs`. When nothing is claimable, `retryAt` tells when something
   * will be (the earliest retry or live lease expiry), or is `null` when nothing is pending.
   */
  claimWebhookDeliveries(request: ClaimWebhookDeliveriesRequest): Promise<ClaimWebhookDeliveriesResult>;

  /**
   * Records one attempt of a claimed delivery: `attempts` grows by one, `lastAttemptAt` is `now`,
   * the status code and error are kept, and the lease is released. `delivered` settles it (its
   * `deliveredAt` is `now`, its last error cleared); `retry` keeps it pending until
   * `nextAttemptAt`; `failed` settles it as given up. Refused with `lease_lost` (changing nothing)
   * when the delivery is not held under `epoch` or is settled already.
   */
  recordWebhookDelivery(request: RecordWebhookDeliveryRequest): Promise<RecordWebhookDeliveryResult>;

  /**
   * The delivery log, newest delivery first (by id, descending), optionally only those of one
   * broadcast, one endpoint or one state. Cursors are opaque, as for `listBroadcasts`: one the
   * store did not issue throws `InvalidCursorError`.
   */
  listWebhookDeliveries(query: ListWebhookDeliveriesQuery): Promise<Page<WebhookDelivery>>;
}

export interface ClaimWebhookDeliveriesRequest {
  readonly endpointId: string;
  /** The event types this endpoint receives. */
  readonly events: readonly WebhookEventType[];
  /** For an endpoint not registered yet: the events it receives start at this time. */
  readonly since: Date;
  /** Who holds the lease, for diagnostics. */
  readonly owner: string;
  readonly limit: number;
  readonly now: Date;
  readonly leaseMs: number;
}

export interface ClaimWebhookDeliveriesResult {
  readonly epoch: number;
  readonly deliveries: readonly WebhookDelivery[];
  /** Only when `deliveries` is empty: when to look again, or `null` when nothing is pending. */
  readonly retryAt: Date | null;
}

export type WebhookAttemptOutcome =
  | { readonly type: "delivered"; readonly statusCode: number }
  | {
      readonly type: "retry";
      readonly nextAttemptAt: Date;
      readonly error: string;
      readonly statusCode: number | null;
    }
  | { readonly type: "failed"; readonly error: string; readonly statusCode: number | null };

export interface RecordWebhookDeliveryRequest {
  readonly endpointId: string;
  readonly deliveryId: number;
  readonly epoch: number;
  readonly now: Date;
  readonly outcome: WebhookAttemptOutcome;
}

export type RecordWebhookDeliveryResult =
  | { readonly type: "recorded"; readonly delivery: WebhookDelivery }
  | { readonly type: "lease_lost" }
  | { readonly type: "not_found" };

export interface ListWebhookDeliveriesQuery {
  readonly broadcastId?: number | undefined;
  readonly endpointId?: string | undefined;
  readonly state?: WebhookDeliveryState | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}
