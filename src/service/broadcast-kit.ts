import { formatBroadcastError } from "../core/format-error.js";
import type { RandomSource } from "../core/retry-policy.js";
import { parseWebhookEndpoints, type WebhookEndpointConfig } from "../core/webhooks.js";
import type { Clock } from "../ports/clock.js";
import type { EventSink } from "../ports/events.js";
import type { Logger } from "../ports/logger.js";
import type { JobHandler, JobQueue } from "../ports/queue.js";
import type { MessageSender } from "../ports/sender.js";
import type { BroadcastStore } from "../ports/store.js";
import type { Telemetry } from "../ports/telemetry.js";
import type { WebhookTransport } from "../ports/webhook-transport.js";
import { createBroadcastService } from "./broadcast-service.js";
import { silentLogger, systemClock } from "./defaults.js";
import { guardLogger } from "./guarded-ports.js";
import { createScheduler, type Scheduler } from "./scheduler.js";
import { createSendWorker } from "./send-worker.js";
import { createStatusSignals } from "./status-signals.js";
import type { BroadcastService, SendWorker, SendWorkerOptions } from "./types.js";
import { createWebhookDispatcher, type WebhookDispatcher } from "./webhook-dispatcher.js";

/** A queue this process also consumes: `createMemoryQueue` is one; a durable queue's consumer may be another. */
export interface ConsumableQueue extends JobQueue {
  /** Hands every job to `handler` from now on. */
  consume?(handler: JobHandler): void;
  /** Stops handing out jobs; waiting jobs stay queued. */
  close?(): void | Promise<void>;
  /**
   * Runs `tick` once every `intervalMs` across every process sharing the queue (a durable queue's
   * scheduler, e.g. BullMQ's job schedulers). Without it, each process ticks on its own timer.
   */
  scheduleTicks?(intervalMs: number, tick: () => Promise<unknown>): Promise<void>;
}

/** The worker's own settings; its ports come from the kit. */
export type WorkerSettings = Omit<
  SendWorkerOptions,
  "store" | "queue" | "sender" | "clock" | "logger" | "events" | "signals" | "telemetry"
>;

export interface BroadcastKitOptions {
  readonly store: BroadcastStore;
  readonly queue: ConsumableQueue;
  readonly sender: MessageSender;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly events?: EventSink;
  /** Metrics and traces for the service and the worker (`broadcastkit/otel`); give the sender the same. */
  readonly telemetry?: Telemetry;
  readonly worker?: WorkerSettings;
  /** How often due broadcasts start and lost jobs are queued again (default one minute); `false`: never. */
  readonly scheduler?: { readonly intervalMs?: number } | false;
  /** How long cancel and pause wait for sends in flight (see `BroadcastServiceOptions`). */
  readonly settleTimeoutMs?: number;
  /**
   * Endpoints told of status changes by signed webhooks, from the store's outbox (see
   * docs/webhooks.md): `{ url, secret: "whsec_…", events?, id?, timeoutMs?, retry? }`. Needs
   * `webhookTransport`. An invalid entry makes `createBroadcastKit` throw a `RangeError` naming
   * the field (`webhooks.0.secret: …`).
   */
  readonly webhooks?: readonly WebhookEndpointConfig[];
  /** How webhooks are sent: `createWebhookTransport()` from `broadcastkit/webhooks`. */
  readonly webhookTransport?: WebhookTransport;
  /** The webhook dispatchers' settings. */
  readonly webhookDispatch?: {
    /** How often each endpoint's dispatcher looks for new events when idle (default 1 s). */
    readonly pollIntervalMs?: number;
    /** Deliveries sent at once per endpoint (default 10). */
    readonly batchSize?: number;
    /** Draws the retry schedule's jitter (default `Math.random`). */
    readonly random?: RandomSource;
    /** How long a claimed delivery stays this process's before another may send it (default timeout + 30 s). */
    readonly leaseMs?: number;
  };
}

export interface BroadcastKit {
  readonly service: BroadcastService;
  readonly worker: SendWorker;
  /** `null` when the kit was made with `scheduler: false`. */
  readonly scheduler: Scheduler | null;
  /** One per configured webhook endpoint; started by `start`, stopped by `stop`. */
  readonly webhooks: readonly WebhookDispatcher[];
  /**
   * Starts consuming send jobs (when the queue can be consumed here), runs a first scheduler tick
   * at once (so broadcasts a previous process left `sending` are picked up now), then ticks on the
   * scheduler's interval: once per interval across every process when the queue schedules ticks
   * (BullMQ), else on this process's timer.
   */
  start(): Promise<void>;
  /**
   * Stops the scheduler, the queue's consumption, and the worker (sends in flight settle and are
   * written, unstarted recipients are released and their jobs queued again). Call it on SIGTERM.
   */
  stop(): Promise<void>;
}

/**
 * The composition root: wires the store, queue, sender, clock, logger and events once, so the
 * service and the worker share them, and this process's worker stops at once when this process's
 * service cancels or pauses. `createBroadcastService`, `createSendWorker` and `createScheduler`
 * stay available for hosts that wire things themselves.
 *
 * ```ts
 * const kit = createBroadcastKit({ store, queue: createMemoryQueue({ autoRun: true }), sender });
 * await kit.start();
 * process.once("SIGTERM", () => void kit.stop());
 * ```
 */
export function createBroadcastKit(options: BroadcastKitOptions): BroadcastKit {
  const { store, queue, sender, clock, events, telemetry } = options;
  const logger = guardLogger(options.logger ?? silentLogger);
  const signals = createStatusSignals();
  const ports = {
    store,
    queue,
    logger,
    signals,
    ...(clock === undefined ? {} : { clock }),
    ...(events === undefined ? {} : { events }),
    ...(telemetry === undefined ? {} : { telemetry }),
  };
  const service = createBroadcastService({
    ...ports,
    ...(options.settleTimeoutMs === undefined ? {} : { settleTimeoutMs: options.settleTimeoutMs }),
  });
  const worker = createSendWorker({ ...options.worker, ...ports, sender });
  const tickEveryMs = options.scheduler === false ? 0 : (options.scheduler?.intervalMs ?? 60_000);
  const scheduler =
    options.scheduler === false ? null : createScheduler({ service, logger, intervalMs: tickEveryMs });
  const webhooks = webhookDispatchers(options, logger);
  let started = false;

  return {
    service,
    worker,
    scheduler,
    webhooks,
    async start() {
      if (started) return;
      started = true;
      for (const dispatcher of webhooks) dispatcher.start();
      queue.consume?.((job, context) => worker.handle(job, context));
      if (scheduler === null) return;
      await scheduler.tick();
      if (queue.scheduleTicks !== undefined) await queue.scheduleTicks(tickEveryMs, () => scheduler.tick());
      else scheduler.start();
    },
    async stop() {
      const stoppingWebhooks = Promise.all(webhooks.map((dispatcher) => dispatcher.stop()));
      await scheduler?.stop();
      // The queue stops handing out jobs first, so the jobs the closing worker queues again wait
      // for another process instead of coming straight back here; a durable queue's close may
      // wait for its running jobs, which the worker's close is what ends.
      const closingQueue = queue.close?.();
      await worker.close();
      await closingQueue;
      await stoppingWebhooks;
    },
  };
}

let kits = 0;

/** The endpoints, validated; a dispatcher for each, sharing nothing with the send path but the store. */
function webhookDispatchers(options: BroadcastKitOptions, logger: Logger): WebhookDispatcher[] {
  const configured = options.webhooks ?? [];
  if (configured.length === 0) return [];
  const parsed = parseWebhookEndpoints(configured);
  if (parsed.isErr()) throw new RangeError(`createBroadcastKit: ${formatBroadcastError(parsed.error)}`);
  const transport = options.webhookTransport;
  if (transport === undefined) {
    throw new RangeError(
      "createBroadcastKit: webhookTransport: required with webhooks (createWebhookTransport from broadcastkit/webhooks)",
    );
  }
  const clock = options.clock ?? systemClock;
  const since = clock.now();
  kits += 1;
  const owner = `kit-${kits}-${since.getTime().toString(36)}`;
  const settings = options.webhookDispatch ?? {};
  return parsed.value.map((endpoint) =>
    createWebhookDispatcher({
      store: options.store,
      transport,
      endpoint,
      clock,
      logger,
      since,
      owner,
      ...(settings.pollIntervalMs === undefined ? {} : { pollIntervalMs: settings.pollIntervalMs }),
      ...(settings.batchSize === undefined ? {} : { batchSize: settings.batchSize }),
      ...(settings.random === undefined ? {} : { random: settings.random }),
      ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
    }),
  );
}
