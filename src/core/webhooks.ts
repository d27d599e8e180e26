import { addMilliseconds } from "date-fns";
import type { Result } from "neverthrow";
import { z } from "zod";
import type { BroadcastError } from "./errors.js";
import { pendingCount, progressPct } from "./progress.js";
import { type RandomSource, type RetryPolicy, retryDelayMs } from "./retry-policy.js";
import { parseInput } from "./schemas.js";
import type { BroadcastStatus } from "./types.js";

/**
 * What a webhook endpoint can subscribe to. The final status of a run names its event
 * (`sent`, `completed` or `failed`, see the SPEC's §2), so a receiver needs no second request.
 */
export const WEBHOOK_EVENT_TYPES = [
  "broadcast.started",
  "broadcast.paused",
  "broadcast.resumed",
  "broadcast.sent",
  "broadcast.completed",
  "broadcast.failed",
  "broadcast.cancelled",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * The event a stored status change announces, or `null` for changes nobody outside needs
 * (scheduling, unscheduling, a counter update that keeps the status). A manual retry
 * (`completed`/`failed` → `sending`) starts a new run: `broadcast.started`, with the previous
 * status in the payload; a resume is `broadcast.resumed`.
 */
export function webhookEventFor(from: BroadcastStatus, to: BroadcastStatus): WebhookEventType | null {
  if (from === to) return null;
  switch (to) {
    case "sending":
      return from === "paused" ? "broadcast.resumed" : "broadcast.started";
    case "paused":
      return "broadcast.paused";
    case "sent":
      return "broadcast.sent";
    case "completed":
      return "broadcast.completed";
    case "failed":
      return "broadcast.failed";
    case "cancelled":
      return "broadcast.cancelled";
    case "draft":
    case "scheduled":
      return null;
  }
}

/**
 * One stored status change, as the store's outbox journals it in the same atomic step as the
 * change itself: the counters are those the broadcast had right after it.
 */
export interface WebhookEvent {
  /** Issued by the store, increasing: later changes have larger ids. */
  readonly id: number;
  readonly type: WebhookEventType;
  readonly broadcastId: number;
  readonly previousStatus: BroadcastStatus;
  readonly status: BroadcastStatus;
  readonly occurredAt: Date;
  readonly totalRecipients: number;
  readonly sentCount: number;
  readonly failedCount: number;
}

export const WEBHOOK_DELIVERY_STATES = ["pending", "delivered", "failed"] as const;
/** `pending` until the endpoint accepted it (`delivered`) or every attempt was refused (`failed`). */
export type WebhookDeliveryState = (typeof WEBHOOK_DELIVERY_STATES)[number];

/** One event on its way to one endpoint: the outbox row and its delivery log. */
export interface WebhookDelivery {
  /** Issued by the store, increasing. */
  readonly id: number;
  readonly endpointId: string;
  readonly event: WebhookEvent;
  readonly state: WebhookDeliveryState;
  /** Requests made so far (each one an attempt, whatever it answered). */
  readonly attempts: number;
  /** A pending delivery waiting for its next attempt; `null` when due at once or settled. */
  readonly nextAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  /** Why the latest attempt was refused (HTTP status text, timeout, network error); `null` once delivered. */
  readonly lastError: string | null;
  /** The HTTP status the latest attempt got; `null` when none came back (timeout, network). */
  readonly lastStatusCode: number | null;
  readonly deliveredAt: Date | null;
}

/** The identifier receivers deduplicate on (`webhook-id`): the same for every attempt and endpoint. */
export const webhookMessageId = (event: Pick<WebhookEvent, "id">): string => `evt_${event.id}`;

/**
 * The JSON body of a webhook, in the Standard Webhooks shape (`type`, `timestamp`, `data`), with
 * `data` in the admin API's snake_case. `timestamp` is when the status changed.
 */
export const webhookPayloadSchema = z.strictObject({
  type: z.enum(WEBHOOK_EVENT_TYPES),
  timestamp: z.iso.datetime(),
  data: z.strictObject({
    event_id: z.string(),
    broadcast_id: z.int().positive(),
    status: z.string(),
    previous_status: z.string(),
    total_recipients: z.int().nonnegative(),
    sent_count: z.int().nonnegative(),
    failed_count: z.int().nonnegative(),
    pending_count: z.int().nonnegative(),
    progress_pct: z.int().min(0).max(100),
  }),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;

export function webhookPayload(event: WebhookEvent): WebhookPayload {
  return {
    type: event.type,
    timestamp: event.occurredAt.toISOString(),
    data: {
      event_id: webhookMessageId(event),
      broadcast_id: event.broadcastId,
      status: event.status,
      previous_status: event.previousStatus,
      total_recipients: event.totalRecipients,
      sent_count: event.sentCount,
      failed_count: event.failedCount,
      pending_count: Math.max(0, pendingCount(event)),
      progress_pct: progressPct(event),
    },
  };
}

/**
 * How refused deliveries are retried: attempt n+1 waits `baseDelayMs * factor^(n-1)` after
 * attempt n (capped, then spread by `jitter`). The default, 8 attempts over about 9 hours
 * (30 s, 1.5 min, 4.5 min, 13.5 min, 40.5 min, 2 h, 6 h between them), outlasts a deploy or a
 * short outage of the receiver without hammering it. `maxRetries` is attempts after the first.
 */
export const DEFAULT_WEBHOOK_RETRY_POLICY: RetryPolicy = {
  maxRetries: 7,
  baseDelayMs: 30_000,
  factor: 3,
  maxDelayMs: 6 * 60 * 60_000,
  jitter: 0.2,
};

export type WebhookAttemptDecision =
  | { readonly type: "retry"; readonly nextAttemptAt: Date }
  | { readonly type: "give_up" };

/** After `attemptsMade` refused attempts (the latest at `now`): when to try again, or give up. */
export function nextWebhookAttempt(
  policy: RetryPolicy,
  attemptsMade: number,
  now: Date,
  random?: RandomSource,
): WebhookAttemptDecision {
  if (attemptsMade > policy.maxRetries) return { type: "give_up" };
  return { type: "retry", nextAttemptAt: addMilliseconds(now, retryDelayMs(policy, attemptsMade, random)) };
}

/** A receiver that answers 2xx accepted the event; anything else (3xx included) is a refusal. */
export const isAcceptedStatus = (status: number): boolean => status >= 200 && status < 300;

/** Standard Webhooks secrets: `whsec_` and the base64 of 24 to 64 random bytes. */
const SECRET = /^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

const base64Bytes = (text: string): number => {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
};

export const webhookSecretSchema = z
  .string()
  .regex(SECRET, { error: "must be whsec_ followed by base64", abort: true })
  .refine(
    (secret) => {
      const bytes = base64Bytes(secret.slice("whsec_".length));
      return bytes >= MIN_SECRET_BYTES && bytes <= MAX_SECRET_BYTES;
    },
    { message: `must encode ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes` },
  );

const retryOverridesSchema = z.strictObject({
  maxRetries: z.int().min(0).max(100).optional(),
  baseDelayMs: z.int().min(0).optional(),
  factor: z.number().min(1).optional(),
  maxDelayMs: z.int().min(0).optional(),
  jitter: z.number().min(0).max(1).optional(),
});

/** An endpoint as a host configures it. */
export const webhookEndpointSchema = z.strictObject({
  /**
   * Names the endpoint in the store (its outbox position and delivery log); the URL when absent.
   * Keep it when the URL changes, or the new URL starts from events after its first start.
   */
  id: z.string().min(1).max(200).optional(),
  url: z
    .url({ protocol: /^https?$/, error: "must be an http or https URL" })
    .refine((url) => !url.includes("#"), "must not hold a fragment"),
  secret: webhookSecretSchema,
  /** Which events it receives; every event when absent. */
  events: z
    .array(z.enum(WEBHOOK_EVENT_TYPES))
    .min(1)
    .refine((events) => new Set(events).size === events.length, "must not repeat an event")
    .optional(),
  /** How long one request may take before it counts as refused (default 10 s). */
  timeoutMs: z.int().min(1).max(300_000).optional(),
  retry: retryOverridesSchema.optional(),
});
export type WebhookEndpointConfig = z.input<typeof webhookEndpointSchema>;

/** An endpoint with every default filled in. */
export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  readonly events: readonly WebhookEventType[];
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

const endpointListSchema = z
  .array(webhookEndpointSchema)
  .refine(
    (list) => new Set(list.map((e) => e.id ?? e.url)).size === list.length,
    "endpoints must have distinct ids (or URLs)",
  );

/** Validates the host's endpoints (issues name the field, e.g. `webhooks.0.secret`) and fills in defaults. */
export function parseWebhookEndpoints(input: unknown): Result<WebhookEndpoint[], BroadcastError> {
  return parseInput(endpointListSchema, input, ["webhooks"]).map((list) =>
    list.map(
      (endpoint): WebhookEndpoint => ({
        id: endpoint.id ?? endpoint.url,
        url: endpoint.url,
        secret: endpoint.secret,
        events: endpoint.events ?? [...WEBHOOK_EVENT_TYPES],
        timeoutMs: endpoint.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS,
        retry: {
          ...DEFAULT_WEBHOOK_RETRY_POLICY,
          ...(stripUndefined(endpoint.retry ?? {}) as Partial<RetryPolicy>),
        },
      }),
    ),
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The delivery log's filters, as the service and the admin API accept them. */
export const listWebhookDeliveriesSchema = z.strictObject({
  broadcastId: z.int().positive().optional(),
  endpointId: z.string().min(1).max(2048).optional(),
  state: z.enum(WEBHOOK_DELIVERY_STATES).optional(),
  limit: z.int().min(1).max(1000).optional(),
  cursor: z.string().max(200).optional(),
});
export type ListWebhookDeliveriesInput = z.input<typeof listWebhookDeliveriesSchema>;
