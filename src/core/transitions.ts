import { err, ok, type Result } from "neverthrow";
import { type BroadcastError, invalidTransition, validationError } from "./errors.js";
import { normalizeDescription } from "./outcome.js";
import { finalStatus, pendingCount } from "./progress.js";
import type { Broadcast, BroadcastStatus, PauseReason } from "./types.js";

/** Something that asks a broadcast to change status. Time comes in, it is never read. */
export type BroadcastEvent =
  | { readonly type: "schedule"; readonly at: Date }
  | { readonly type: "unschedule" }
  | { readonly type: "start" }
  | { readonly type: "pause"; readonly reason: PauseReason }
  | { readonly type: "resume" }
  | { readonly type: "cancel" }
  /** Nobody is pending any more: settle on sent, completed or failed. */
  | { readonly type: "finish" }
  /** A manual retry of failed recipients. */
  | { readonly type: "retry" }
  /** The seed's `update_progress`: absolute counters, then the final-status rule. */
  | { readonly type: "set_counters"; readonly sentCount: number; readonly failedCount: number };

export type BroadcastEventType = BroadcastEvent["type"];

/** Fields a transition may change; everything else stays as stored. */
export interface BroadcastPatch {
  readonly status?: BroadcastStatus;
  readonly scheduledAt?: Date | null;
  readonly sentAt?: Date | null;
  readonly completedAt?: Date | null;
  readonly pauseReason?: PauseReason | null;
  readonly sentCount?: number;
  readonly failedCount?: number;
}

/**
 * A decided transition: the store applies `patch` only if the broadcast is still in `from`
 * (compare-and-set), so two racing callers see exactly one winner.
 */
export interface Transition {
  readonly broadcastId: number;
  readonly from: BroadcastStatus;
  readonly to: BroadcastStatus;
  readonly patch: BroadcastPatch;
}

/** Where each event may start from (the SPEC's §2 table); anything else is `invalid_transition`. */
export const ALLOWED_FROM: Readonly<Record<BroadcastEventType, readonly BroadcastStatus[]>> = {
  schedule: ["draft"],
  unschedule: ["scheduled"],
  start: ["draft", "scheduled"],
  pause: ["sending"],
  resume: ["paused"],
  cancel: ["draft", "scheduled", "sending", "paused"],
  finish: ["sending"],
  retry: ["completed", "failed"],
  set_counters: ["sending", "paused"],
};

/**
 * Where a retry request is accepted, whatever its variant and whether or not anything failed.
 * `completed` and `failed` go back to `sending` when something is retried (`ALLOWED_FROM.retry`);
 * a `sent` broadcast has nothing failed, so retrying it is the seed's "no-op when clean". From
 * anywhere else a retry is an `invalid_transition`: the answer must not depend on whether some
 * recipient happens to have failed yet.
 */
export const RETRY_ACCEPTED_FROM: readonly BroadcastStatus[] = ["completed", "failed", "sent"];

/** The status an event asks for, used to name the refused target in `invalid_transition`. */
function nominalTarget(event: BroadcastEvent, b: Broadcast): BroadcastStatus {
  switch (event.type) {
    case "schedule":
      return "scheduled";
    case "unschedule":
      return "draft";
    case "start":
    case "resume":
    case "retry":
      return "sending";
    case "pause":
      return "paused";
    case "cancel":
      return "cancelled";
    case "finish":
      return finalStatus(b);
    case "set_counters":
      return b.status;
  }
}

/** A refusal's description is the platform's text: normalised like every failure description. */
function storedReason(reason: PauseReason): PauseReason {
  if (reason.type !== "content_refused") return reason;
  const description = normalizeDescription(reason.description);
  return description === reason.description ? reason : { type: "content_refused", description };
}

/** Every status pair the table allows, for documentation and exhaustive tests. */
export function canTransition(from: BroadcastStatus, event: BroadcastEventType): boolean {
  return ALLOWED_FROM[event].includes(from);
}

/**
 * The pure state machine: given a broadcast, an event and the current time, decide the change
 * or refuse it. Nothing is read from the outside world.
 */
export function transition(
  b: Broadcast,
  event: BroadcastEvent,
  now: Date,
): Result<Transition, BroadcastError> {
  const target = nominalTarget(event, b);
  if (!canTransition(b.status, event.type)) return err(invalidTransition(b.id, b.status, target));
  const decided = (to: BroadcastStatus, patch: BroadcastPatch): Result<Transition, BroadcastError> =>
    ok({ broadcastId: b.id, from: b.status, to, patch: { status: to, ...patch } });

  switch (event.type) {
    case "schedule":
      if (event.at.getTime() <= now.getTime()) {
        return err(validationError([{ path: "scheduledAt", message: "must be in the future" }]));
      }
      return decided("scheduled", { scheduledAt: event.at });
    case "unschedule":
      return decided("draft", { scheduledAt: null });
    case "start": {
      const sentAt = b.sentAt ?? now;
      if (b.totalRecipients === 0) return decided("sent", { sentAt, completedAt: now });
      return decided("sending", { sentAt });
    }
    case "pause":
      return decided("paused", { pauseReason: storedReason(event.reason) });
    case "resume":
      return decided("sending", { pauseReason: null });
    case "cancel":
      return decided("cancelled", { completedAt: now, pauseReason: null });
    case "finish":
      if (pendingCount(b) > 0) return err(invalidTransition(b.id, b.status, target));
      return decided(target, { completedAt: now });
    case "retry":
      return decided("sending", { completedAt: null });
    case "set_counters": {
      const { sentCount, failedCount } = event;
      const issues = [];
      if (!Number.isSafeInteger(sentCount) || sentCount < 0) {
        issues.push({ path: "sentCount", message: "must be a non-negative integer" });
      }
      if (!Number.isSafeInteger(failedCount) || failedCount < 0) {
        issues.push({ path: "failedCount", message: "must be a non-negative integer" });
      }
      if (issues.length === 0 && sentCount + failedCount > b.totalRecipients) {
        issues.push({
          path: "",
          message: `sentCount + failedCount must not exceed totalRecipients (${b.totalRecipients})`,
        });
      }
      if (issues.length > 0) return err(validationError(issues));
      const counted = { ...b, sentCount, failedCount };
      if (b.status === "sending" && pendingCount(counted) === 0) {
        return decided(finalStatus(counted), { sentCount, failedCount, completedAt: now });
      }
      return decided(b.status, { sentCount, failedCount });
    }
  }
}
