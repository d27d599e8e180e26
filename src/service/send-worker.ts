import { err, errAsync, ok, type Result, ResultAsync } from "neverthrow";
import { z } from "zod";
import { type BroadcastError, leaseLost, storageError } from "../core/errors.js";
import type { RecipientOutcome } from "../core/outcome.js";
import { pendingCount } from "../core/progress.js";
import { retryPolicy } from "../core/retry-policy.js";
import { broadcastIdSchema, parseInput } from "../core/schemas.js";
import type { BroadcastStatus, PauseReason, SendJob } from "../core/types.js";
import { silentLogger, systemClock } from "./defaults.js";
import { adapterCall, eventEmitter, guardLogger } from "./guarded-ports.js";
import { completedEvent } from "./lifecycle-events.js";
import { enqueueSend } from "./send-jobs.js";
import type { ServiceDeps } from "./service-deps.js";
import { runTransition } from "./transition-runner.js";
import type { SendWorker, SendWorkerOptions, WorkerRunSummary, WorkerStopReason } from "./types.js";
import { type BatchTally, crossedThreshold, sendBatch, tallyOutcomes } from "./worker/batch.js";
import { batchMessage, type DeliveryContext } from "./worker/deliver.js";

const workerSettingsSchema = z.object({
  batchSize: z.int().min(1).max(10_000),
  leaseMs: z.int().min(1),
  errorLogLimit: z.int().nonnegative(),
});

/** Queues hand jobs over as data (JSON, in BullMQ): check them like any other input. */
const sendJobSchema = z.object({ broadcastId: broadcastIdSchema, onlyFailed: z.boolean().default(false) });

/**
 * Runs send jobs: claims pending recipients in batches under a lease, sends each through the
 * sender, records each batch's outcomes in one store call, and settles the broadcast when nobody
 * is pending. It re-reads the broadcast before every batch, so a pause or cancel stops it there.
 */
export function createSendWorker(options: SendWorkerOptions): SendWorker {
  const settings = workerSettingsSchema.parse({
    batchSize: options.batchSize ?? 100,
    leaseMs: options.leaseMs ?? 5 * 60_000,
    errorLogLimit: options.errorLogLimit ?? 1000,
  });
  const logger = guardLogger(options.logger ?? silentLogger);
  const clock = options.clock ?? systemClock;
  const deps: ServiceDeps = {
    store: options.store,
    queue: options.queue,
    clock,
    logger,
    emit: eventEmitter(options.events, logger),
  };
  const delivery: DeliveryContext = {
    sender: options.sender,
    clock,
    logger,
    policy: retryPolicy(options.retry),
    guarantee: options.guarantee ?? "at-least-once",
    random: options.random ?? Math.random,
  };
  const owner = options.workerId ?? `worker-${globalThis.crypto.randomUUID()}`;
  const { store } = deps;

  async function run(job: SendJob): Promise<Result<WorkerRunSummary, BroadcastError>> {
    const { broadcastId, onlyFailed } = job;
    const tally: BatchTally = { delivered: 0, failed: 0, retrying: 0, released: 0 };
    let batches = 0;
    const end = (
      stoppedBecause: WorkerStopReason,
      status: BroadcastStatus | null,
      continuation: WorkerRunSummary["continuation"] = null,
    ): Result<WorkerRunSummary, BroadcastError> => {
      logger.debug({ broadcastId, stoppedBecause, batches, ...tally }, "send job run ended");
      return ok({ broadcastId, stoppedBecause, status, batches, ...tally, continuation });
    };

    for (;;) {
      const loaded = await adapterCall(logger, "getBroadcast", () => store.getBroadcast(broadcastId));
      if (loaded.isErr()) return err(loaded.error);
      const broadcast = loaded.value;
      if (broadcast === null) return end("not_found", null);
      if (broadcast.status !== "sending") return end("not_sending", broadcast.status);
      if (pendingCount(broadcast) <= 0) return settle(broadcast.id, end);

      const now = clock.now();
      const claimed = await adapterCall(logger, "claimRecipients", () =>
        store.claimRecipients({
          broadcastId,
          owner,
          limit: settings.batchSize,
          now,
          leaseMs: settings.leaseMs,
          onlyFailed,
        }),
      );
      if (claimed.isErr()) return err(claimed.error);
      const { epoch, recipients, retryAt } = claimed.value;
      if (recipients.length === 0) {
        if (retryAt === null) return settle(broadcastId, end);
        const delayMs = Math.max(0, retryAt.getTime() - now.getTime());
        const queued = await enqueueSend(deps, { broadcastId, onlyFailed }, delayMs);
        if (queued.isErr()) return err(queued.error);
        return end("waiting", "sending", { jobId: queued.value.jobId, runAt: retryAt });
      }

      // A cancel or pause stored between the read above and the claim must stop this batch too:
      // only a batch claimed while the broadcast was still sending counts as in flight.
      const recheck = await adapterCall(logger, "getBroadcast", () => store.getBroadcast(broadcastId));
      if (recheck.isErr()) return err(recheck.error);
      if (recheck.value?.status !== "sending") {
        const released = recipients.map(({ recipientId }) => ({ type: "released" as const, recipientId }));
        const releasing = await adapterCall(logger, "recordOutcomes", () =>
          store.recordOutcomes({
            broadcastId,
            epoch,
            outcomes: released,
            now: clock.now(),
            errorLogLimit: settings.errorLogLimit,
          }),
        );
        if (releasing.isErr()) return err(releasing.error);
        return end(recheck.value === null ? "not_found" : "not_sending", recheck.value?.status ?? null);
      }

      const sent = await sendBatch(delivery, batchMessage(broadcast, now), recipients);
      const recordedAt = clock.now();
      const recorded = await adapterCall(logger, "recordOutcomes", () =>
        store.recordOutcomes({
          broadcastId,
          epoch,
          outcomes: sent.outcomes,
          now: recordedAt,
          errorLogLimit: settings.errorLogLimit,
        }),
      );
      if (recorded.isErr()) return err(recorded.error);
      const result = recorded.value;
      if (result.type === "not_found") return end("not_found", null);
      if (result.type === "lease_lost") {
        logger.warn(
          { broadcastId, epoch, recipientIds: result.recipientIds },
          "lease lost; another worker owns the batch",
        );
        return err(leaseLost(broadcastId));
      }
      batches++;
      tallyOutcomes(tally, sent.outcomes);
      const newlyFailed = emitFailures(broadcastId, sent.outcomes, recordedAt);

      if (sent.refusal !== null) {
        logger.warn({ broadcastId, description: sent.refusal }, "message refused by the platform; pausing");
        const paused = await pause(broadcastId, { type: "content_refused", description: sent.refusal });
        return paused.isErr() ? err(paused.error) : end("content_refused", paused.value);
      }
      const after = result.broadcast;
      if (pendingCount(after) > 0 && crossedThreshold(after.errorThreshold, after.failedCount, newlyFailed)) {
        const threshold = after.errorThreshold ?? 0;
        logger.warn(
          { broadcastId, failedCount: after.failedCount, threshold },
          "error threshold reached; pausing",
        );
        const paused = await pause(broadcastId, {
          type: "error_threshold",
          failedCount: after.failedCount,
          threshold,
        });
        return paused.isErr() ? err(paused.error) : end("error_threshold", paused.value);
      }
    }
  }

  function emitFailures(broadcastId: number, outcomes: readonly RecipientOutcome[], at: Date): number {
    let failures = 0;
    for (const outcome of outcomes) {
      if (outcome.type !== "failed") continue;
      failures++;
      const { recipientId, error, kind } = outcome;
      deps.emit({ type: "recipient.failed", broadcastId, at, recipientId, error, kind });
    }
    return failures;
  }

  /** Pauses the broadcast if it is still sending; answers the status it ends in. */
  async function pause(
    broadcastId: number,
    reason: PauseReason,
  ): Promise<Result<BroadcastStatus, BroadcastError>> {
    const paused = await runTransition(deps, broadcastId, { type: "pause", reason });
    if (paused.isOk()) {
      deps.emit({ type: "broadcast.paused", broadcastId, at: clock.now(), reason });
      return ok(paused.value.broadcast.status);
    }
    if (paused.error.type === "invalid_transition") return ok(paused.error.from);
    return err(paused.error);
  }

  /** Nobody is pending: settle on sent, completed or failed, unless someone else changed the status first. */
  async function settle(
    broadcastId: number,
    end: (
      reason: WorkerStopReason,
      status: BroadcastStatus | null,
    ) => Result<WorkerRunSummary, BroadcastError>,
  ): Promise<Result<WorkerRunSummary, BroadcastError>> {
    const finished = await runTransition(deps, broadcastId, { type: "finish" });
    if (finished.isOk()) {
      const { broadcast } = finished.value;
      logger.info(
        {
          broadcastId,
          status: broadcast.status,
          sentCount: broadcast.sentCount,
          failedCount: broadcast.failedCount,
        },
        "broadcast finished",
      );
      const completed = completedEvent(broadcast, broadcast.completedAt ?? clock.now());
      if (completed !== null) deps.emit(completed);
      return end("finished", broadcast.status);
    }
    const failure = finished.error;
    if (failure.type === "not_found") return end("not_found", null);
    // Another worker finished it, or an admin paused or cancelled it meanwhile.
    if (failure.type === "invalid_transition" && failure.from !== "sending")
      return end("not_sending", failure.from);
    return err(failure);
  }

  return {
    handle(job) {
      const checked = parseInput(sendJobSchema, job);
      if (checked.isErr()) return errAsync(checked.error);
      const running = run(checked.value).catch((cause: unknown) => {
        logger.error({ err: cause, broadcastId: checked.value.broadcastId }, "send job failed unexpectedly");
        return err<WorkerRunSummary, BroadcastError>(storageError(cause));
      });
      return new ResultAsync(running);
    },
  };
}
