import { errAsync, ok, ResultAsync, safeTry } from "neverthrow";
import { type BroadcastError, validationError } from "../core/errors.js";
import { progressOf } from "../core/progress.js";
import {
  countersSchema,
  dateInputSchema,
  listOptionsSchema,
  listRecipientsOptionsSchema,
  parseInput,
  retryOptionsSchema,
  sendOptionsSchema,
} from "../core/schemas.js";
import { listWebhookDeliveriesSchema } from "../core/webhooks.js";
import { addRecipients } from "./add-recipients.js";
import { loadBroadcast, validId } from "./broadcast-reads.js";
import { createBroadcast } from "./create-broadcast.js";
import { adapterCall } from "./guarded-ports.js";
import { completedEvent } from "./lifecycle-events.js";
import { listRecipients } from "./list-recipients.js";
import { listWebhookDeliveries } from "./list-webhook-deliveries.js";
import { processScheduled } from "./process-scheduled.js";
import { recoverStalled } from "./recover-stalled.js";
import { retryFailed } from "./retry-failed.js";
import { resolveDeps } from "./service-deps.js";
import { waitUntilSettled } from "./settle-wait.js";
import { enqueueOrRevert, startSending } from "./start-sending.js";
import { runTransition } from "./transition-runner.js";
import type { BroadcastService, BroadcastServiceOptions } from "./types.js";

/** Pages hold this many items when the caller does not say. */
export const DEFAULT_PAGE_SIZE = 50;

/** How long cancel and pause wait for sends in flight: the Telegram sender's own timeout. */
export const DEFAULT_SETTLE_TIMEOUT_MS = 10_000;

/**
 * The application API: validates input at the boundary, decides every change with the pure core,
 * stores it by compare-and-set, queues send jobs, and emits events once changes are stored.
 */
export function createBroadcastService(options: BroadcastServiceOptions): BroadcastService {
  const deps = resolveDeps(options);
  const { store, logger, emit, clock } = deps;
  const settleTimeoutMs = options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  /** Resolves once the sends in flight have settled and been written (bounded): counts read after it are final. */
  const settled = <T>(id: number, value: T): ResultAsync<T, BroadcastError> =>
    ResultAsync.fromSafePromise(waitUntilSettled(deps, id, settleTimeoutMs)).map(() => value);

  /** Validates the id first: a bad id never reaches the store. */
  const withId = <T>(id: unknown, run: (id: number) => ResultAsync<T, BroadcastError>) => {
    const checked = validId(id);
    return checked.isOk() ? run(checked.value) : errAsync<T, BroadcastError>(checked.error);
  };

  return {
    create: (input) => createBroadcast(deps, input),

    addRecipients: (id, recipients) => withId(id, (valid) => addRecipients(deps, valid, recipients)),

    get: (id) => withId(id, (valid) => loadBroadcast(deps, valid)),

    list: (query = {}) =>
      parseInput(listOptionsSchema, query).asyncAndThen(({ status, limit, cursor }) =>
        adapterCall(logger, "listBroadcasts", () =>
          store.listBroadcasts({ status, limit: limit ?? DEFAULT_PAGE_SIZE, cursor }),
        ),
      ),

    listWebhookDeliveries: (query = {}) =>
      parseInput(listWebhookDeliveriesSchema, query).asyncAndThen(({ limit, ...filters }) =>
        listWebhookDeliveries(deps, { ...filters, limit: limit ?? DEFAULT_PAGE_SIZE }),
      ),

    listRecipients: (id, query = {}) =>
      withId(id, (valid) =>
        parseInput(listRecipientsOptionsSchema, query).asyncAndThen(({ status, limit, cursor }) =>
          listRecipients(deps, valid, { status, limit: limit ?? DEFAULT_PAGE_SIZE, cursor }),
        ),
      ),

    start: (id, options = {}) =>
      withId(id, (valid) =>
        parseInput(sendOptionsSchema, options).asyncAndThen(({ parallelism }) =>
          startSending(deps, valid, parallelism === undefined ? {} : { parallelism }),
        ),
      ),

    schedule: (id, at) =>
      withId(id, (valid) =>
        parseInput(dateInputSchema, at, ["scheduledAt"]).asyncAndThen((when) =>
          runTransition(deps, valid, { type: "schedule", at: when }).map(({ broadcast }) => broadcast),
        ),
      ),

    unschedule: (id) =>
      withId(id, (valid) =>
        runTransition(deps, valid, { type: "unschedule" }).map(({ broadcast }) => broadcast),
      ),

    pause: (id) =>
      withId(id, (valid) =>
        runTransition(deps, valid, { type: "pause", reason: { type: "manual" } })
          .map(({ broadcast }) => {
            emit({
              type: "broadcast.paused",
              broadcastId: valid,
              at: clock.now(),
              reason: { type: "manual" },
            });
            return broadcast;
          })
          .andThen((paused) => settled(valid, paused))
          .andThen((paused) => loadBroadcast(deps, valid).orElse(() => ok(paused))),
      ),

    resume: (id, options = {}) =>
      withId(id, (valid) =>
        safeTry(async function* () {
          const { parallelism } = yield* parseInput(sendOptionsSchema, options);
          const applied = yield* runTransition(deps, valid, { type: "resume" });
          yield* enqueueOrRevert(deps, applied, parallelism);
          emit({ type: "broadcast.resumed", broadcastId: valid, at: clock.now() });
          return ok(applied.broadcast);
        }),
      ),

    cancel: (id) =>
      withId(id, (valid) =>
        runTransition(deps, valid, { type: "cancel" })
          .map(({ broadcast }) => {
            const cancelledAt = broadcast.completedAt ?? clock.now();
            emit({ type: "broadcast.cancelled", broadcastId: valid, at: cancelledAt });
            return { broadcastId: valid, cancelledAt };
          })
          .andThen((cancelled) => settled(valid, cancelled)),
      ),

    retryFailed: (id, retryOptions = {}) =>
      withId(id, (valid) =>
        parseInput(retryOptionsSchema, retryOptions).asyncAndThen(({ includePermanent, parallelism }) =>
          retryFailed(deps, valid, includePermanent ?? false, parallelism),
        ),
      ),

    getProgress: (id) => withId(id, (valid) => loadBroadcast(deps, valid).map(progressOf)),

    updateProgress: (id, counters) =>
      withId(id, (valid) =>
        parseInput(countersSchema, counters).asyncAndThen(({ sentCount, failedCount }) =>
          runTransition(deps, valid, { type: "set_counters", sentCount, failedCount }).map(
            ({ broadcast }) => {
              const completed = completedEvent(broadcast, clock.now());
              if (completed !== null) emit(completed);
              return broadcast;
            },
          ),
        ),
      ),

    settledProgress: (id) =>
      withId(id, (valid) => settled(valid, valid).andThen(() => loadBroadcast(deps, valid).map(progressOf))),

    recoverStalled: (now) => {
      const at = now ?? clock.now();
      if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
        return errAsync(validationError([{ path: "now", message: "must be a valid date" }]));
      }
      return recoverStalled(deps, at);
    },

    processScheduled: (now) => {
      const at = now ?? clock.now();
      if (!(at instanceof Date) || Number.isNaN(at.getTime())) {
        return errAsync(validationError([{ path: "now", message: "must be a valid date" }]));
      }
      return processScheduled(deps, at);
    },
  };
}
