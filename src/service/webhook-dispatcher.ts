import type { RandomSource } from "../core/retry-policy.js";
import {
  isAcceptedStatus,
  nextWebhookAttempt,
  type WebhookDelivery,
  type WebhookEndpoint,
  webhookMessageId,
  webhookPayload,
} from "../core/webhooks.js";
import type { Clock } from "../ports/clock.js";
import type { Logger } from "../ports/logger.js";
import type { BroadcastStore } from "../ports/store.js";
import type { WebhookAttemptOutcome } from "../ports/webhook-outbox.js";
import type { WebhookResponse, WebhookTransport } from "../ports/webhook-transport.js";

export interface WebhookDispatcherOptions {
  readonly store: BroadcastStore;
  readonly transport: WebhookTransport;
  readonly endpoint: WebhookEndpoint;
  readonly clock: Clock;
  readonly logger: Logger;
  /** For an endpoint the store has not seen yet: the events it receives start here (the kit's start). */
  readonly since: Date;
  /** Who holds the leases, for diagnostics. */
  readonly owner: string;
  /** How often to look for new events when nothing is due (default 1 s). */
  readonly pollIntervalMs?: number;
  /** Deliveries claimed and sent at once (default 10). */
  readonly batchSize?: number;
  /** Draws the retry schedule's jitter (default `Math.random`). */
  readonly random?: RandomSource;
  /**
   * How long a claimed delivery stays this dispatcher's (default the endpoint's timeout + 30 s):
   * after a crash, another process sends it again once this has passed.
   */
  readonly leaseMs?: number;
}

export interface WebhookDispatcher {
  readonly endpointId: string;
  /** Claims one batch of due deliveries, sends them and records the outcomes; answers how many it sent. */
  runOnce(): Promise<number>;
  /** Runs `runOnce` in a loop until `stop`: at once while there is work, else on the poll interval. */
  start(): void;
  /**
   * Stops claiming and aborts requests in flight; their deliveries stay leased until the lease
   * expires and are then sent again (at least once), by this process or another.
   */
  stop(): Promise<void>;
}

export const DEFAULT_WEBHOOK_POLL_MS = 1_000;
const DEFAULT_BATCH = 10;
/** A lease outlives the request it covers by this much, so a slow store write still lands. */
const LEASE_MARGIN_MS = 30_000;

/**
 * Delivers one endpoint's events from the store's outbox, at least once: an event is settled
 * only after the endpoint answered 2xx (or every attempt failed), and a dispatcher that dies
 * mid-request leaves a lease that expires, after which the event is sent again. It runs beside the
 * send path and shares nothing with it but the store, so a slow or dead endpoint delays only its
 * own events.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store, transport, endpoint, clock, logger } = options;
  const pollMs = options.pollIntervalMs ?? DEFAULT_WEBHOOK_POLL_MS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const random = options.random ?? Math.random;
  const leaseMs = options.leaseMs ?? endpoint.timeoutMs + LEASE_MARGIN_MS;
  const stopping = new AbortController();
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;

  async function post(delivery: WebhookDelivery): Promise<WebhookResponse> {
    try {
      return await transport.post({
        url: endpoint.url,
        secret: endpoint.secret,
        messageId: webhookMessageId(delivery.event),
        timestamp: clock.now(),
        body: JSON.stringify(webhookPayload(delivery.event)),
        timeoutMs: endpoint.timeoutMs,
        signal: stopping.signal,
      });
    } catch (cause) {
      logger.warn({ endpointId: endpoint.id, cause }, "webhook transport threw");
      return { type: "unreachable", error: "transport error" };
    }
  }

  function outcomeOf(delivery: WebhookDelivery, response: WebhookResponse): WebhookAttemptOutcome {
    if (response.type === "answered" && isAcceptedStatus(response.status)) {
      return { type: "delivered", statusCode: response.status };
    }
    const error = response.type === "answered" ? `HTTP ${response.status}` : response.error;
    const statusCode = response.type === "answered" ? response.status : null;
    const decision = nextWebhookAttempt(endpoint.retry, delivery.attempts + 1, clock.now(), random);
    return decision.type === "retry"
      ? { type: "retry", nextAttemptAt: decision.nextAttemptAt, error, statusCode }
      : { type: "failed", error, statusCode };
  }

  async function deliver(delivery: WebhookDelivery, epoch: number): Promise<void> {
    const response = await post(delivery);
    // Stopping mid-request: the answer is unknown, so the lease's expiry sends it again.
    if (stopping.signal.aborted) return;
    const outcome = outcomeOf(delivery, response);
    const fields = {
      endpointId: endpoint.id,
      deliveryId: delivery.id,
      eventId: delivery.event.id,
      broadcastId: delivery.event.broadcastId,
      event: delivery.event.type,
      attempt: delivery.attempts + 1,
      outcome: outcome.type,
      ...(outcome.type === "delivered" ? { status: outcome.statusCode } : { error: outcome.error }),
    };
    const recorded = await store.recordWebhookDelivery({
      endpointId: endpoint.id,
      deliveryId: delivery.id,
      epoch,
      now: clock.now(),
      outcome,
    });
    if (recorded.type !== "recorded") {
      logger.warn({ ...fields, result: recorded.type }, "webhook attempt not recorded: its lease was lost");
    } else if (outcome.type === "delivered") {
      logger.info(fields, "webhook delivered");
    } else if (outcome.type === "retry") {
      logger.warn({ ...fields, nextAttemptAt: outcome.nextAttemptAt }, "webhook refused; will retry");
    } else {
      logger.error(fields, "webhook refused; gave up");
    }
  }

  /** One claim and its deliveries; `retryAt` tells the loop when something will be due. */
  async function runBatch(): Promise<{ sent: number; retryAt: Date | null }> {
    const claim = await store.claimWebhookDeliveries({
      endpointId: endpoint.id,
      events: endpoint.events,
      since: options.since,
      owner: options.owner,
      limit: batchSize,
      now: clock.now(),
      leaseMs,
    });
    await Promise.all(claim.deliveries.map((delivery) => deliver(delivery, claim.epoch)));
    return { sent: claim.deliveries.length, retryAt: claim.retryAt };
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      let waitMs = pollMs;
      try {
        const { sent, retryAt } = await runBatch();
        if (sent > 0) continue;
        if (retryAt !== null) waitMs = Math.min(pollMs, retryAt.getTime() - clock.now().getTime());
      } catch (cause) {
        logger.error({ endpointId: endpoint.id, cause }, "webhook dispatch failed; trying again");
      }
      if (!stopping.signal.aborted) await pause(waitMs);
    }
  }

  return {
    endpointId: endpoint.id,
    runOnce: async () => (await runBatch()).sent,
    start() {
      loop ??= run();
    },
    async stop() {
      stopping.abort();
      wake?.();
      await loop;
    },
  };
}
