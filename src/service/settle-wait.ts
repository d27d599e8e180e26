import type { ServiceDeps } from "./service-deps.js";

/** Waits between looks: short at first (an in-process worker stops within milliseconds), then longer. */
const FIRST_LOOK_MS = 5;
const LONGEST_LOOK_MS = 200;

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref?.();
  });

/**
 * Resolves once no recipient of the broadcast is under a live lease (every send in flight has
 * settled and been written, and unstarted recipients were released), or after `timeoutMs`: a
 * worker that died holding a lease keeps it until it expires. Answers whether it settled. A store
 * failure ends the wait early; the caller's own read will report it.
 */
export async function waitUntilSettled(
  deps: Pick<ServiceDeps, "store" | "clock" | "logger">,
  broadcastId: number,
  timeoutMs: number,
): Promise<boolean> {
  const giveUpAt = Date.now() + timeoutMs;
  let pause = FIRST_LOOK_MS;
  for (;;) {
    let activity: Awaited<ReturnType<typeof deps.store.getActivity>>;
    try {
      activity = await deps.store.getActivity(broadcastId, deps.clock.now());
    } catch (cause) {
      deps.logger.warn({ err: cause, broadcastId }, "could not read whether sends are still in flight");
      return false;
    }
    if (activity === null || !activity.leased) return true;
    const left = giveUpAt - Date.now();
    if (left <= 0) {
      deps.logger.warn({ broadcastId, timeoutMs }, "sends still in flight after the settle timeout");
      return false;
    }
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, LONGEST_LOOK_MS);
  }
}
