import { ok, type ResultAsync, safeTry } from "neverthrow";
import type { BroadcastError } from "../core/errors.js";
import { adapterCall } from "./guarded-ports.js";
import type { ServiceDeps } from "./service-deps.js";
import { startSending } from "./start-sending.js";
import type { ProcessScheduledResult } from "./types.js";

/** Due broadcasts are read in pages of this size. */
const DUE_PAGE_SIZE = 100;

/**
 * The seed's `process_scheduled_broadcasts`: every due `scheduled` broadcast moves to `sending`
 * by compare-and-set, so of any number of concurrent runs exactly one queues each broadcast; the
 * others count it as found and leave it. `failed` counts store and queue errors; those broadcasts
 * stay `scheduled` for the next run.
 */
export function processScheduled(
  deps: ServiceDeps,
  now: Date,
): ResultAsync<ProcessScheduledResult, BroadcastError> {
  return safeTry(async function* () {
    const seen = new Set<number>();
    let queued = 0;
    let failed = 0;
    for (;;) {
      const due = yield* adapterCall(deps.logger, "findDueScheduled", () =>
        deps.store.findDueScheduled(now, DUE_PAGE_SIZE),
      );
      // Broadcasts that failed to start stay due: a page of nothing new means the rest waits.
      const fresh = due.filter((broadcast) => !seen.has(broadcast.id));
      for (const broadcast of fresh) {
        seen.add(broadcast.id);
        const started = await startSending(deps, broadcast.id, { at: now, onlyFrom: broadcast });
        if (started.isOk()) queued++;
        else if (started.error.type === "storage") failed++;
        else
          deps.logger.debug({ broadcastId: broadcast.id, lost: started.error.type }, "another run took it");
      }
      if (fresh.length === 0 || due.length < DUE_PAGE_SIZE) break;
    }
    if (seen.size > 0)
      deps.logger.info({ found: seen.size, queued, failed }, "scheduled broadcasts processed");
    return ok({ found: seen.size, queued, failed });
  });
}
