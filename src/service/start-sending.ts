import { err, ok, ResultAsync, safeTry } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import type { Broadcast } from "../core/types.js";
import type { EnqueuedJob } from "../ports/queue.js";
import { completedEvent } from "./lifecycle-events.js";
import { enqueueParts, sendJobParts } from "./send-jobs.js";
import type { ServiceDeps } from "./service-deps.js";
import {
  type AppliedTransition,
  revertTransition,
  runTransition,
  type TransitionOptions,
} from "./transition-runner.js";

/**
 * A broadcast that moved to `sending` is useless without its send job: when queuing fails, the
 * move is undone (best effort) and the caller gets the `storage` error.
 */
export function enqueueOrRevert(
  deps: ServiceDeps,
  applied: AppliedTransition,
  parallelism = 1,
): ResultAsync<EnqueuedJob, BroadcastError> {
  const jobs = sendJobParts(applied.transition.broadcastId, false, parallelism);
  return enqueueParts(deps, jobs).orElse((failure) =>
    ResultAsync.fromSafePromise(revertTransition(deps, applied)).andThen(() => err(failure)),
  );
}

/**
 * draft|scheduled -> sending, with its send job queued; with zero recipients straight to `sent`.
 */
export function startSending(
  deps: ServiceDeps,
  id: number,
  options: TransitionOptions & { readonly parallelism?: number } = {},
): ResultAsync<Broadcast, BroadcastError> {
  return safeTry(async function* () {
    const applied = yield* runTransition(deps, id, { type: "start" }, options);
    const { broadcast } = applied;
    if (broadcast.status === "sending") yield* enqueueOrRevert(deps, applied, options.parallelism);
    const at = options.at ?? deps.clock.now();
    deps.emit({ type: "broadcast.started", broadcastId: id, at });
    const completed = completedEvent(broadcast, at);
    if (completed !== null) deps.emit(completed);
    return ok(broadcast);
  });
}
