import { ok, type ResultAsync, safeTry } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import { pendingCount } from "../core/progress.js";
import { adapterCall } from "./guarded-ports.js";
import { enqueueSend } from "./send-jobs.js";
import type { ServiceDeps } from "./service-deps.js";
import type { RecoverStalledResult } from "./types.js";

/** `sending` broadcasts are read in pages of this size. */
const PAGE_SIZE = 100;

/**
 * A `sending` broadcast whose job was lost (its process restarted, its queue was emptied) would
 * stay `sending` forever. Nobody holding a live lease on it, while it has recipients to claim now
 * or none pending at all (only the final status is missing), is the sign: its send job is queued
 * again, under the same dedupe key as a start, so a job already waiting absorbs it. A job that is
 * queued but not running yet may get a twin; the store's leases keep the two apart.
 */
export function recoverStalled(
  deps: ServiceDeps,
  now: Date,
): ResultAsync<RecoverStalledResult, BroadcastError> {
  return safeTry(async function* () {
    let checked = 0;
    let queued = 0;
    let failed = 0;
    let cursor: string | undefined;
    do {
      const page = yield* adapterCall(deps.logger, "listBroadcasts", () =>
        deps.store.listBroadcasts({ status: "sending", limit: PAGE_SIZE, cursor }),
      );
      for (const broadcast of page.items) {
        checked++;
        const activity = yield* adapterCall(deps.logger, "getActivity", () =>
          deps.store.getActivity(broadcast.id, now),
        );
        if (activity === null || activity.leased) continue;
        if (!activity.claimable && pendingCount(broadcast) > 0) continue;
        const job = { broadcastId: broadcast.id, onlyFailed: false };
        const enqueued = await enqueueSend(deps, job);
        if (enqueued.isErr()) {
          failed++;
          continue;
        }
        queued++;
        deps.logger.warn(
          { broadcastId: broadcast.id, jobId: enqueued.value.jobId },
          "sending broadcast had nobody working on it; queued again",
        );
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return ok({ checked, queued, failed });
  });
}
