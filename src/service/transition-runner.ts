import { err, ok, type ResultAsync, safeTry } from "neverthrow";
import { type BroadcastError, conflict, notFound } from "../core/errors.js";
import {
  type BroadcastEvent,
  type BroadcastPatch,
  type Transition,
  transition,
} from "../core/transitions.js";
import type { Broadcast } from "../core/types.js";
import { loadBroadcast } from "./broadcast-reads.js";
import { adapterCall } from "./guarded-ports.js";
import type { ServiceDeps } from "./service-deps.js";

/** Lost races re-read and decide again this many times before answering `conflict`. */
const MAX_TRANSITION_TRIES = 5;

export interface AppliedTransition {
  readonly before: Broadcast;
  readonly transition: Transition;
  readonly broadcast: Broadcast;
}

export interface TransitionOptions {
  /** The time the change happens at; the clock is read per try otherwise. */
  readonly at?: Date;
  /**
   * Decide on this snapshot only, and answer a lost race with `conflict` instead of re-deciding:
   * the caller's reason for the change belongs to that snapshot (the scheduler found it due; a
   * broadcast unscheduled meanwhile must not be started because `draft` also allows a start).
   */
  readonly onlyFrom?: Broadcast;
}

/**
 * Reads the broadcast, decides with the pure state machine and stores the decision by
 * compare-and-set on the status; a caller that lost a race re-reads and decides again.
 */
export function runTransition(
  deps: ServiceDeps,
  id: number,
  event: BroadcastEvent,
  options: TransitionOptions = {},
): ResultAsync<AppliedTransition, BroadcastError> {
  return safeTry(async function* () {
    const tries = options.onlyFrom === undefined ? MAX_TRANSITION_TRIES : 1;
    for (let attempt = 0; attempt < tries; attempt++) {
      const before = options.onlyFrom ?? (yield* loadBroadcast(deps, id));
      const at = options.at ?? deps.clock.now();
      const decided = yield* transition(before, event, at);
      const stored = yield* adapterCall(deps.logger, "updateBroadcast", () =>
        deps.store.updateBroadcast(id, decided.from, decided.patch, at),
      );
      if (stored.type === "updated") {
        deps.signals?.statusChanged(id, stored.broadcast.status);
        if (decided.from !== decided.to) {
          deps.telemetry.statusChanged({ broadcastId: id, from: decided.from, to: decided.to });
        }
        deps.logger.info(
          { broadcastId: id, event: event.type, from: decided.from, to: decided.to },
          "broadcast status changed",
        );
        return ok({ before, transition: decided, broadcast: stored.broadcast });
      }
      if (stored.type === "not_found") return err(notFound(id));
      deps.logger.debug(
        { broadcastId: id, event: event.type, expected: decided.from, actual: stored.actual },
        "lost a status race",
      );
    }
    return err(conflict(id));
  });
}

const RESTORABLE = [
  "status",
  "scheduledAt",
  "sentAt",
  "completedAt",
  "pauseReason",
  "sentCount",
  "failedCount",
] as const satisfies readonly (keyof BroadcastPatch & keyof Broadcast)[];

/** The patch that puts back what `applied` changed, for a compare-and-set from its new status. */
export function undoPatch(applied: AppliedTransition): BroadcastPatch {
  const undo: Record<string, unknown> = {};
  for (const field of RESTORABLE) {
    if (field in applied.transition.patch) undo[field] = applied.before[field];
  }
  return undo as BroadcastPatch;
}

/**
 * Best effort: when the step that must follow a stored transition fails (queuing the send job),
 * put the broadcast back so that the caller's error describes the whole state. Losing this race
 * (someone changed the broadcast meanwhile) leaves their change in place.
 */
export async function revertTransition(deps: ServiceDeps, applied: AppliedTransition): Promise<void> {
  const { broadcastId, to, from } = applied.transition;
  const reverted = await adapterCall(deps.logger, "updateBroadcast", () =>
    deps.store.updateBroadcast(broadcastId, to, undoPatch(applied), deps.clock.now()),
  );
  if (reverted.isOk() && reverted.value.type === "updated") {
    deps.signals?.statusChanged(broadcastId, from);
    deps.telemetry.statusChanged({ broadcastId, from: to, to: from });
    deps.logger.warn({ broadcastId, from: to, to: from }, "transition reverted");
    return;
  }
  deps.logger.error(
    { broadcastId, result: reverted.isOk() ? reverted.value.type : "failed" },
    "could not revert transition",
  );
  if (reverted.isOk() && reverted.value.type === "status_changed" && reverted.value.actual === "cancelled") {
    await forgetUnsentStart(deps, applied);
  }
}

/**
 * A cancel got in between a start and its undo. The broadcast stays cancelled, but the start's
 * job was never queued, so nothing was sent under it: a `sentAt` the start set must go.
 */
async function forgetUnsentStart(deps: ServiceDeps, applied: AppliedTransition): Promise<void> {
  const { broadcastId, patch } = applied.transition;
  if (patch.sentAt === undefined || applied.before.sentAt !== null) return;
  const cleared = await adapterCall(deps.logger, "updateBroadcast", () =>
    deps.store.updateBroadcast(broadcastId, "cancelled", { sentAt: null }),
  );
  if (cleared.isErr() || cleared.value.type !== "updated") {
    deps.logger.error({ broadcastId }, "could not clear sentAt of a start that never sent");
  }
}
